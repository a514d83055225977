/**
 * consent:* tasks: a patient grants, revokes and denies consents, signs grants for a relayer, and anyone checks
 * consents and reads a patient's history.
 */
import fs from "node:fs";
import path from "node:path";
import { task } from "hardhat/config";

import { ConsentStatus, actionMask, purposeMask } from "../src/codes";
import { splitSignatureNonce } from "../src/eip712";
import {
  formatActions,
  formatConsent,
  formatEvent,
  formatPurposes,
  formatReceipt,
  formatTime,
} from "../scripts/lib/format";
import {
  UserError,
  cliAction,
  parseActions,
  parseAddress,
  parseCategory,
  parseDurationOption,
  parseExpiry,
  parseNotBefore,
  parseOneAction,
  parseOnePurpose,
  parsePurposes,
  required,
  taskContext,
} from "./cli";

const FROM = "The account that signs: an index into the network's accounts or one of their addresses (default 0)";
const CATEGORY = `A category code such as "laboratory", "*" for every category, or a bytes32 category id`;

interface GrantArgs {
  from?: string;
  grantee?: string;
  category?: string;
  purposes?: string;
  actions?: string;
  duration?: string;
  expires?: string;
  notBefore?: string;
}

/** The SDK's grant parameters from the options of consent:grant and consent:sign. */
function grantParams(args: GrantArgs, now: number) {
  const grantee = parseAddress(args.grantee, "grantee");
  const category = parseCategory(args.category);
  const purposes = parsePurposes(args.purposes);
  const actions = parseActions(args.actions);
  const notBefore = parseNotBefore(args.notBefore);
  const expiresAt = parseExpiry(args, now, notBefore > now ? notBefore : undefined);
  if (notBefore !== 0 && notBefore >= expiresAt) {
    throw new UserError(`--not-before ${formatTime(notBefore)} is not before the expiry ${formatTime(expiresAt)}`);
  }
  return { grantee, category, purposes, actions, notBefore, expiresAt };
}

function withGrantOptions<T extends ReturnType<typeof task>>(definition: T): T {
  return definition
    .addOptionalParam("from", FROM)
    .addOptionalParam("grantee", "The provider or person consented to (required)")
    .addOptionalParam("category", `${CATEGORY} (required)`)
    .addOptionalParam("purposes", `Comma-separated purpose codes, e.g. "TREAT,CAREMGT" (required)`)
    .addOptionalParam("actions", `Comma-separated actions, e.g. "access,use" (required)`)
    .addOptionalParam("duration", `How long the consent lasts, e.g. "30d", "12h", "2w" (or --expires)`)
    .addOptionalParam("expires", "When the consent ends: an ISO date or unix seconds (or --duration)")
    .addOptionalParam("notBefore", "When the consent starts: an ISO date or unix seconds (default now)") as T;
}

withGrantOptions(task("consent:grant", "Grants a consent as the patient (--from)")).setAction(
  cliAction(async (args: GrantArgs, hre) => {
    const { client, from, now } = await taskContext(hre, { from: args.from, sign: true });
    const params = grantParams(args, now);
    const receipt = await client.grant(params);
    console.log(
      `Patient ${from} granted ${params.grantee} ${formatActions(actionMask(...params.actions))} on ` +
        `${params.category} for ${formatPurposes(purposeMask(...params.purposes))}` +
        `${params.notBefore ? ` from ${formatTime(params.notBefore)}` : ""} until ${formatTime(params.expiresAt)}`,
    );
    console.log(`  ${formatReceipt(receipt)}`);
  }),
);

interface KeyArgs {
  from?: string;
  grantee?: string;
  category?: string;
}

task("consent:revoke", "Revokes the patient's (--from) permit or deny for a grantee and category")
  .addOptionalParam("from", FROM)
  .addOptionalParam("grantee", "The grantee whose consent is withdrawn (required)")
  .addOptionalParam("category", `${CATEGORY} (required)`)
  .setAction(
    cliAction(async (args: KeyArgs, hre) => {
      const grantee = parseAddress(args.grantee, "grantee");
      const category = parseCategory(args.category);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.revoke(grantee, category);
      console.log(`Patient ${from} revoked the consent of ${grantee} for ${category}`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

task("consent:deny", "Denies a grantee any access to a category of the patient's (--from) data")
  .addOptionalParam("from", FROM)
  .addOptionalParam("grantee", "The grantee denied (required)")
  .addOptionalParam("category", `${CATEGORY} (required)`)
  .setAction(
    cliAction(async (args: KeyArgs, hre) => {
      const grantee = parseAddress(args.grantee, "grantee");
      const category = parseCategory(args.category);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.deny(grantee, category);
      console.log(`Patient ${from} denied ${grantee} any access to ${category}`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

const FOR_PATIENT = "The patient, when --from is a delegate acting for them (default: --from is the patient)";

/** The patient a delegate acts for (`--patient`), or undefined when the signer is the patient. */
function forPatient(value: string | undefined): string | undefined {
  return value?.trim() ? parseAddress(value, "patient") : undefined;
}

task(
  "consent:revoke-all",
  "Ends every permit the patient has given and cancels their unsubmitted signatures (denies stay)",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", FOR_PATIENT)
  .setAction(
    cliAction(async (args: { from?: string; patient?: string }, hre) => {
      const patient = forPatient(args.patient);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient ? await client.revokeAllFor(patient) : await client.revokeAll();
      const who = patient ? `Delegate ${from} revoked, for patient ${patient},` : `Patient ${from} revoked`;
      console.log(`${who} every permit given so far, and cancelled every signature not submitted yet`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

task("consent:cancel-signatures", "Cancels every signature of the patient not submitted yet (consents stay)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", FOR_PATIENT)
  .setAction(
    cliAction(async (args: { from?: string; patient?: string }, hre) => {
      const patient = forPatient(args.patient);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient ? await client.cancelSignaturesFor(patient) : await client.cancelSignatures();
      const who = patient ? `Delegate ${from} cancelled, for patient ${patient},` : `Patient ${from} cancelled`;
      console.log(`${who} every signature not submitted yet`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

interface CheckArgs {
  patient?: string;
  grantee?: string;
  category?: string;
  purpose?: string;
  action?: string;
}

task("consent:check", "Says whether a grantee may act on a patient's data now, and the consent stored")
  .addOptionalParam("patient", "The patient (required)")
  .addOptionalParam("grantee", "The provider or person asking (required)")
  .addOptionalParam("category", `${CATEGORY} (required)`)
  .addOptionalParam("purpose", `One purpose code, e.g. "TREAT" (required)`)
  .addOptionalParam("action", `One action, e.g. "access" (required)`)
  .setAction(
    cliAction(async (args: CheckArgs, hre) => {
      const patient = parseAddress(args.patient, "patient");
      const grantee = parseAddress(args.grantee, "grantee");
      const category = parseCategory(args.category);
      const purpose = parseOnePurpose(args.purpose);
      const action = parseOneAction(args.action);
      const { client } = await taskContext(hre, { sign: false });
      const authorised = await client.isAuthorized(patient, grantee, category, purpose, action);
      const key = await client.providerIdOf(grantee);
      const { consent, status } = await client.consentOf(patient, key, category);
      console.log(`authorised: ${authorised ? "yes" : "no"}`);
      const keyNote = key.toLowerCase() === grantee.toLowerCase() ? "" : ` (provider id ${key})`;
      console.log(`consent of ${patient} to ${grantee}${keyNote} for ${category}: ${formatConsent(consent, status)}`);
      if (!authorised && status === ConsentStatus.Active) {
        console.log(
          "  (the stored consent does not cover this purpose and action, a deny applies, or the provider is not active)",
        );
      }
    }),
  );

interface SignArgs extends GrantArgs {
  deadline?: string;
  out?: string;
}

withGrantOptions(task("consent:sign", "Signs a grant (EIP-712) as the patient (--from) for a relayer to submit"))
  .addOptionalParam("deadline", `How long the signature can be submitted, e.g. "1h", "7d"`, "1d")
  .addOptionalParam("out", "The JSON file to write the signed grant to (required)")
  .setAction(
    cliAction(async (args: SignArgs, hre) => {
      const out = path.resolve(required(args.out, "out", "give the JSON file to write, e.g. signed-grant.json"));
      const { client, from, now } = await taskContext(hre, { from: args.from, sign: true });
      const params = grantParams(args, now);
      const deadline = now + parseDurationOption(args.deadline ?? "1d", "deadline");
      const signed = await client.signGrant(params, { deadline });
      fs.writeFileSync(
        out,
        `${JSON.stringify(signed, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value), 2)}\n`,
      );
      console.log(
        `Patient ${from} signed a grant to ${params.grantee}: ${formatActions(signed.request.actions)} on ` +
          `${params.category} for ${formatPurposes(signed.request.purposes)} until ${formatTime(params.expiresAt)}`,
      );
      const { signatureEpoch, sequence } = splitSignatureNonce(signed.nonce);
      console.log(
        `  nonce of this grantee and category: sequence ${sequence}, signature epoch ${signatureEpoch} ` +
          `(signatures for other grantees or categories land in any order)`,
      );
      console.log(`  submit before ${formatTime(deadline)}; written to ${out}`);
    }),
  );

interface SignRevokeArgs extends KeyArgs {
  deadline?: string;
  out?: string;
}

task("consent:sign-revoke", "Signs a revocation of a permit (EIP-712) as the patient (--from) for a relayer")
  .addOptionalParam("from", FROM)
  .addOptionalParam("grantee", "The grantee whose permit is withdrawn (required)")
  .addOptionalParam("category", `${CATEGORY} (required)`)
  .addOptionalParam("deadline", `How long the signature can be submitted, e.g. "1h", "7d"`, "1d")
  .addOptionalParam("out", "The JSON file to write the signed revocation to (required)")
  .setAction(
    cliAction(async (args: SignRevokeArgs, hre) => {
      const out = path.resolve(required(args.out, "out", "give the JSON file to write, e.g. signed-revoke.json"));
      const grantee = parseAddress(args.grantee, "grantee");
      const category = parseCategory(args.category);
      const { client, from, now } = await taskContext(hre, { from: args.from, sign: true });
      const deadline = now + parseDurationOption(args.deadline ?? "1d", "deadline");
      const signed = await client.signRevoke({ grantee, category }, { deadline });
      fs.writeFileSync(out, `${JSON.stringify(signed, null, 2)}\n`);
      console.log(`Patient ${from} signed a revocation of the permit of ${signed.request.grantee} for ${category}`);
      console.log(`  submit before ${formatTime(deadline)}; written to ${out}`);
    }),
  );

task(
  "consent:submit",
  "Submits a signed grant or revocation (from consent:sign or consent:sign-revoke) as a relayer (--from)",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("file", "The signed grant or revocation JSON file (required)")
  .setAction(
    cliAction(async (args: { from?: string; file?: string }, hre) => {
      const file = required(args.file, "file", "give the JSON file written by consent:sign or consent:sign-revoke");
      const text = readText(file);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const { parseSignedGrant, parseSignedRevoke } = await import("../src/client");
      // The SDK checks the chain, the registry, the deadline, the key's nonce and the signer before sending.
      if (isRevocation(text)) {
        const signed = parseSignedRevoke(text);
        const receipt = await client.submitSignedRevoke(signed);
        const { patient, grantee } = signed.request;
        console.log(`Relayer ${from} submitted the revocation of ${patient}'s permit to ${grantee}`);
        console.log(`  ${formatReceipt(receipt)}`);
        return;
      }
      const signed = parseSignedGrant(text);
      const receipt = await client.submitSignedGrant(signed);
      console.log(`Relayer ${from} submitted the grant of ${signed.request.patient} to ${signed.request.grantee}`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

/** Whether a signed file is a revocation: its request has no purposes (a grant's always has). */
function isRevocation(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    const request = (value as { request?: unknown } | null)?.request;
    return typeof request === "object" && request !== null && !("purposes" in request);
  } catch {
    return false; // reported by the parser
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`Cannot read ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
}

interface HistoryArgs {
  patient?: string;
  access: boolean;
  fromBlock?: string;
}

task("consent:history", "Prints a patient's consent history (or, with --access, access history) from the events")
  .addOptionalParam("patient", "The patient (required)")
  .addFlag("access", "Print the access history (recorded accesses, break-glass windows) instead")
  .addOptionalParam("fromBlock", "The first block to read (default: the deployment block)")
  .setAction(
    cliAction(async (args: HistoryArgs, hre) => {
      const patient = parseAddress(args.patient, "patient");
      const fromBlock = args.fromBlock?.trim() ? Number(args.fromBlock) : undefined;
      if (fromBlock !== undefined && (!Number.isSafeInteger(fromBlock) || fromBlock < 0)) {
        throw new UserError(`--from-block must be a block number, got "${args.fromBlock}"`);
      }
      const { client } = await taskContext(hre, { sign: false });
      const options = fromBlock === undefined ? {} : { fromBlock };
      const events = args.access
        ? await client.accessHistory(patient, options)
        : await client.consentHistory(patient, options);
      const kind = args.access ? "access" : "consent";
      console.log(`${events.length} ${kind} event(s) of patient ${patient}`);
      for (const event of events) console.log(`  ${formatEvent(event)}`);
    }),
  );
