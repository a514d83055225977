/**
 * delegate:* tasks: a patient appoints or removes a delegate (a guardian, a carer) who manages their consents.
 */
import { task } from "hardhat/config";

import { formatReceipt, formatTime } from "../scripts/lib/format";
import { cliAction, parseAddress, parseExpiry, taskContext } from "./cli";

const FROM = "The patient: an index into the network's accounts or one of their addresses (default 0)";

interface SetArgs {
  from?: string;
  delegate?: string;
  duration?: string;
  expires?: string;
}

task("delegate:set", "Appoints a delegate of the patient (--from) for a term")
  .addOptionalParam("from", FROM)
  .addOptionalParam("delegate", "The delegate's address (required)")
  .addOptionalParam("duration", `The term, e.g. "90d", "1w" (or --expires)`)
  .addOptionalParam("expires", "When the term ends: an ISO date or unix seconds (or --duration)")
  .setAction(
    cliAction(async (args: SetArgs, hre) => {
      const delegate = parseAddress(args.delegate, "delegate");
      const { client, from, now } = await taskContext(hre, { from: args.from, sign: true });
      const expiresAt = parseExpiry(args, now);
      const receipt = await client.setDelegate(delegate, expiresAt);
      console.log(`Patient ${from} appointed ${delegate} as delegate until ${formatTime(expiresAt)}`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

task("delegate:remove", "Removes a delegate of the patient (--from) at once")
  .addOptionalParam("from", FROM)
  .addOptionalParam("delegate", "The delegate's address (required)")
  .setAction(
    cliAction(async (args: { from?: string; delegate?: string }, hre) => {
      const delegate = parseAddress(args.delegate, "delegate");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.removeDelegate(delegate);
      console.log(`Patient ${from} removed delegate ${delegate}`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );
