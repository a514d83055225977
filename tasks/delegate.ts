/**
 * delegate:* tasks: a patient appoints or removes a delegate (a guardian, a carer) who manages their consents.
 */
import { formatReceipt, formatTime } from "../scripts/lib/format";
import { cliAction, cliTask, parseAddress, parseExpiry, receiptJson, taskContext, type CommonArgs } from "./cli";

const FROM = "The patient: an index into the network's accounts or one of their addresses (default 0)";

interface SetArgs extends CommonArgs {
  from?: string;
  delegate?: string;
  duration?: string;
  expires?: string;
}

cliTask("delegate:set", "Appoints a delegate of the patient (--from) for a term")
  .addOptionalParam("from", FROM)
  .addOptionalParam("delegate", "The delegate's address (required)")
  .addOptionalParam("duration", `The term, e.g. "90d", "1w" (or --expires)`)
  .addOptionalParam("expires", "When the term ends: ISO 8601 (2027-02-01, 2027-02-01T09:00Z) or unix seconds")
  .setAction(
    cliAction(async (args: SetArgs, hre, out) => {
      const delegate = parseAddress(args.delegate, "delegate");
      const { client, from, now } = await taskContext(hre, { from: args.from, sign: true });
      const expiresAt = parseExpiry(args, now);
      const receipt = await client.setDelegate(delegate, expiresAt);
      out.say(`Patient ${from} appointed ${delegate} as delegate until ${formatTime(expiresAt)}`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: from, delegate, expiresAt, ...receiptJson(receipt) });
    }),
  );

cliTask("delegate:remove", "Removes a delegate of the patient (--from) at once")
  .addOptionalParam("from", FROM)
  .addOptionalParam("delegate", "The delegate's address (required)")
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; delegate?: string }, hre, out) => {
      const delegate = parseAddress(args.delegate, "delegate");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.removeDelegate(delegate);
      out.say(`Patient ${from} removed delegate ${delegate}`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: from, delegate, ...receiptJson(receipt) });
    }),
  );
