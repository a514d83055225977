/**
 * emergency:* and access:* tasks: a provider opens break-glass access or records an access under consent; a patient
 * (or a delegate, with --patient) allows or refuses break-glass access and closes a window.
 */
import { ZeroHash, isHexString } from "ethers";

import { formatReceipt, formatTime } from "../scripts/lib/format";
import {
  UserError,
  cliAction,
  cliTask,
  forPatient,
  parseAddress,
  parseCategory,
  parseOneAction,
  parseOnePurpose,
  receiptJson,
  required,
  taskContext,
  type CommonArgs,
  FOR_PATIENT_HELP,
  FROM_HELP,
} from "./cli";

const FROM = FROM_HELP;

cliTask("emergency:open", "Opens a 24-hour break-glass window on a patient's data (an emergency provider, --from)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", "The patient (required)")
  .addOptionalParam("reason", "The clinical reason; only its hash goes on-chain (required)")
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; patient?: string; reason?: string }, hre, out) => {
      const patient = parseAddress(args.patient, "patient");
      const reason = required(args.reason, "reason", "give the clinical reason (only its hash is sent)");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.emergencyAccess(patient, reason);
      const expiry = await client.consents.emergencyAccessExpiry(patient, await client.providerIdOf(from as string));
      out.say(`Provider ${from} opened break-glass access to ${patient} until ${formatTime(expiry)}`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ provider: from, patient, expiresAt: Number(expiry), ...receiptJson(receipt) });
    }),
  );

/** "yes"/"no" (also true/false, on/off) of an option. */
function parseYesNo(value: string | undefined, option: string): boolean {
  const text = required(value, option, `give "yes" or "no"`).toLowerCase();
  if (["yes", "true", "on"].includes(text)) return true;
  if (["no", "false", "off"].includes(text)) return false;
  throw new UserError(`--${option} must be "yes" or "no", got "${value}"`);
}

cliTask("emergency:set", "Allows or refuses break-glass access to the patient's (--from, or --patient) data")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", FOR_PATIENT_HELP)
  .addOptionalParam("allowed", `"yes" to allow emergency providers to open break-glass windows, "no" to refuse`)
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; patient?: string; allowed?: string }, hre, out) => {
      const patient = forPatient(args.patient);
      const allowed = parseYesNo(args.allowed, "allowed");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient
        ? await client.setEmergencyAccessFor(patient, allowed)
        : await client.setEmergencyAccess(allowed);
      const who = patient ? `Delegate ${from}, for patient ${patient},` : `Patient ${from}`;
      out.say(`${who} ${allowed ? "allowed" : "refused"} break-glass access`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: patient ?? from, by: from, allowed, ...receiptJson(receipt) });
    }),
  );

cliTask("emergency:close", "Closes a provider's break-glass window on the patient's (--from, or --patient) data")
  .addOptionalParam("from", FROM)
  .addOptionalParam("provider", "The provider whose window is closed (required)")
  .addOptionalParam("patient", FOR_PATIENT_HELP)
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; provider?: string; patient?: string }, hre, out) => {
      const provider = parseAddress(args.provider, "provider");
      const patient = forPatient(args.patient);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient
        ? await client.closeEmergencyAccessFor(patient, provider)
        : await client.closeEmergencyAccess(provider);
      const who = patient ? `Delegate ${from}, for patient ${patient},` : `Patient ${from}`;
      out.say(`${who} closed the break-glass access of ${provider}`);
      out.say(`  it cannot open another until break-glass is turned off and on again, or it is granted a consent`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: patient ?? from, by: from, provider, ...receiptJson(receipt) });
    }),
  );

interface RecordAccessArgs extends CommonArgs {
  from?: string;
  patient?: string;
  category?: string;
  purpose?: string;
  action?: string;
  recordId?: string;
}

cliTask("access:record", "Records that the provider (--from) accessed a patient's data (accounting of disclosures)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", "The patient (required)")
  .addOptionalParam("category", `A category code such as "laboratory", or a bytes32 id (required)`)
  .addOptionalParam("purpose", `One purpose code, e.g. "TREAT" (required)`)
  .addOptionalParam("action", `One action, e.g. "access" (required)`)
  .addOptionalParam("recordId", "The anchored record accessed (a bytes32 record id), if any")
  .setAction(
    cliAction(async (args: RecordAccessArgs, hre, out) => {
      const patient = parseAddress(args.patient, "patient");
      const category = parseCategory(args.category);
      const purpose = parseOnePurpose(args.purpose);
      const action = parseOneAction(args.action);
      const recordId = args.recordId?.trim() || ZeroHash;
      if (!isHexString(recordId, 32)) throw new UserError(`--record-id must be a bytes32 record id, got "${recordId}"`);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.recordAccess(patient, category, purpose, action, recordId);
      out.say(`Provider ${from} recorded ${required(args.action, "action", "")} of ${patient}'s ${category} data`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ provider: from, patient, category, recordId, ...receiptJson(receipt) });
    }),
  );
