/**
 * emergency:* and access:* tasks: a provider opens break-glass access or records an access under consent; a patient
 * closes a break-glass window.
 */
import { task } from "hardhat/config";
import { ZeroHash, isHexString } from "ethers";

import { formatReceipt, formatTime } from "../scripts/lib/format";
import {
  UserError,
  cliAction,
  parseAddress,
  parseCategory,
  parseOneAction,
  parseOnePurpose,
  required,
  taskContext,
} from "./cli";

const FROM = "The account that signs: an index into the network's accounts or one of their addresses (default 0)";

task("emergency:open", "Opens a 24-hour break-glass window on a patient's data (an emergency provider, --from)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", "The patient (required)")
  .addOptionalParam("reason", "The clinical reason; only its hash goes on-chain (required)")
  .setAction(
    cliAction(async (args: { from?: string; patient?: string; reason?: string }, hre) => {
      const patient = parseAddress(args.patient, "patient");
      const reason = required(args.reason, "reason", "give the clinical reason (only its hash is sent)");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.emergencyAccess(patient, reason);
      const expiry = await client.consents.emergencyAccessExpiry(patient, await client.providerIdOf(from as string));
      console.log(`Provider ${from} opened break-glass access to ${patient} until ${formatTime(expiry)}`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

task("emergency:close", "Closes a provider's break-glass window on the patient's (--from) data")
  .addOptionalParam("from", FROM)
  .addOptionalParam("provider", "The provider whose window is closed (required)")
  .addOptionalParam("patient", "The patient, when --from is a delegate acting for them (default: --from)")
  .setAction(
    cliAction(async (args: { from?: string; provider?: string; patient?: string }, hre) => {
      const provider = parseAddress(args.provider, "provider");
      const patient = args.patient?.trim() ? parseAddress(args.patient, "patient") : undefined;
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient
        ? await client.closeEmergencyAccessFor(patient, provider)
        : await client.closeEmergencyAccess(provider);
      const who = patient ? `Delegate ${from}, for patient ${patient},` : `Patient ${from}`;
      console.log(`${who} closed the break-glass access of ${provider}`);
      console.log(`  it cannot open another until break-glass is turned off and on again, or it is granted a consent`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

interface RecordAccessArgs {
  from?: string;
  patient?: string;
  category?: string;
  purpose?: string;
  action?: string;
  recordId?: string;
}

task("access:record", "Records that the provider (--from) accessed a patient's data (accounting of disclosures)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", "The patient (required)")
  .addOptionalParam("category", `A category code such as "laboratory", or a bytes32 id (required)`)
  .addOptionalParam("purpose", `One purpose code, e.g. "TREAT" (required)`)
  .addOptionalParam("action", `One action, e.g. "access" (required)`)
  .addOptionalParam("recordId", "The anchored record accessed (a bytes32 record id), if any")
  .setAction(
    cliAction(async (args: RecordAccessArgs, hre) => {
      const patient = parseAddress(args.patient, "patient");
      const category = parseCategory(args.category);
      const purpose = parseOnePurpose(args.purpose);
      const action = parseOneAction(args.action);
      const recordId = args.recordId?.trim() || ZeroHash;
      if (!isHexString(recordId, 32)) throw new UserError(`--record-id must be a bytes32 record id, got "${recordId}"`);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.recordAccess(patient, category, purpose, action, recordId);
      console.log(`Provider ${from} recorded ${required(args.action, "action", "")} of ${patient}'s ${category} data`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );
