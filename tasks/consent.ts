/**
 * consent:* tasks: a patient (or a delegate, with --patient) grants, revokes and denies consents, signs grants for a
 * relayer, and anyone checks consents and reads a patient's history.
 */
import { task } from "hardhat/config";

import { ConsentStatus, actionMask, categoryId, purposeMask } from "../src/codes";
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
  cliTask,
  forPatient,
  parseActions,
  parseAddress,
  parseCategory,
  parseDurationOption,
  parseExpiry,
  parseNotBefore,
  parseOneAction,
  parseOnePurpose,
  parsePurposes,
  receiptJson,
  required,
  taskContext,
  type CommonArgs,
  FOR_PATIENT_HELP,
  FROM_HELP,
} from "./cli";
import { explainAccess } from "./lib/access-reason";
import { checkGrantOptions, type GrantTermsArgs } from "./lib/grant-options";
import { INDEXER_OPTION_HELP, historySourceOption } from "./lib/indexer";
import { checkOutputFile, readTextFile, writeOutputFile } from "./lib/files";
import { toJson } from "./lib/output";
import { checkSignedFile, grantTerms, revokeTerms, termsLines, type SignedTerms } from "./lib/signed-terms";

const FROM = FROM_HELP;
const CATEGORY = `A category code such as "laboratory", "*" for every category, or a bytes32 category id`;

interface GrantArgs extends CommonArgs, GrantTermsArgs {
  from?: string;
  patient?: string;
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
    .addOptionalParam("expires", "When the consent ends: ISO 8601 (2027-02-01, 2027-02-01T09:00Z) or unix seconds")
    .addOptionalParam("notBefore", "When the consent starts: ISO 8601 or unix seconds (default now)") as T;
}

withGrantOptions(cliTask("consent:grant", "Grants a consent as the patient (--from), or for it as a delegate"))
  .addOptionalParam("patient", FOR_PATIENT_HELP)
  .setAction(
    cliAction(async (args: GrantArgs, hre, out) => {
      const patient = forPatient(args.patient);
      checkGrantOptions(args);
      const { client, from, now } = await taskContext(hre, { from: args.from, sign: true });
      const params = grantParams(args, now);
      const receipt = patient ? await client.grantFor(patient, params) : await client.grant(params);
      const who = patient ? `Delegate ${from}, for patient ${patient},` : `Patient ${from}`;
      out.say(
        `${who} granted ${params.grantee} ${formatActions(actionMask(...params.actions))} on ` +
          `${params.category} for ${formatPurposes(purposeMask(...params.purposes))}` +
          `${params.notBefore ? ` from ${formatTime(params.notBefore)}` : ""} until ${formatTime(params.expiresAt)}`,
      );
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({
        patient: patient ?? from,
        by: from,
        grantee: params.grantee,
        category: params.category,
        notBefore: params.notBefore,
        expiresAt: params.expiresAt,
        ...receiptJson(receipt),
      });
    }),
  );

interface KeyArgs extends CommonArgs {
  from?: string;
  patient?: string;
  grantee?: string;
  category?: string;
}

cliTask("consent:revoke", "Revokes the patient's (--from, or --patient) permit or deny for a grantee and category")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", FOR_PATIENT_HELP)
  .addOptionalParam("grantee", "The grantee whose consent is withdrawn (required)")
  .addOptionalParam("category", `${CATEGORY} (required)`)
  .setAction(
    cliAction(async (args: KeyArgs, hre, out) => {
      const patient = forPatient(args.patient);
      const grantee = parseAddress(args.grantee, "grantee");
      const category = parseCategory(args.category);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient
        ? await client.revokeFor(patient, grantee, category)
        : await client.revoke(grantee, category);
      const who = patient ? `Delegate ${from}, for patient ${patient},` : `Patient ${from}`;
      out.say(`${who} revoked the consent of ${grantee} for ${category}`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: patient ?? from, by: from, grantee, category, ...receiptJson(receipt) });
    }),
  );

cliTask("consent:deny", "Denies a grantee any access to a category of the patient's (--from, or --patient) data")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", FOR_PATIENT_HELP)
  .addOptionalParam("grantee", "The grantee denied (required)")
  .addOptionalParam("category", `${CATEGORY} (required)`)
  .setAction(
    cliAction(async (args: KeyArgs, hre, out) => {
      const patient = forPatient(args.patient);
      const grantee = parseAddress(args.grantee, "grantee");
      const category = parseCategory(args.category);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient ? await client.denyFor(patient, grantee, category) : await client.deny(grantee, category);
      const who = patient ? `Delegate ${from}, for patient ${patient},` : `Patient ${from}`;
      out.say(`${who} denied ${grantee} any access to ${category}`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: patient ?? from, by: from, grantee, category, ...receiptJson(receipt) });
    }),
  );

interface PatientArgs extends CommonArgs {
  from?: string;
  patient?: string;
}

cliTask(
  "consent:revoke-all",
  "Ends every permit the patient has given and cancels their unsubmitted signatures (denies stay)",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", FOR_PATIENT_HELP)
  .setAction(
    cliAction(async (args: PatientArgs, hre, out) => {
      const patient = forPatient(args.patient);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient ? await client.revokeAllFor(patient) : await client.revokeAll();
      const who = patient ? `Delegate ${from} revoked, for patient ${patient},` : `Patient ${from} revoked`;
      out.say(`${who} every permit given so far, and cancelled every signature not submitted yet`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: patient ?? from, by: from, ...receiptJson(receipt) });
    }),
  );

cliTask("consent:cancel-signatures", "Cancels every signature of the patient not submitted yet (consents stay)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("patient", FOR_PATIENT_HELP)
  .setAction(
    cliAction(async (args: PatientArgs, hre, out) => {
      const patient = forPatient(args.patient);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = patient ? await client.cancelSignaturesFor(patient) : await client.cancelSignatures();
      const who = patient ? `Delegate ${from} cancelled, for patient ${patient},` : `Patient ${from} cancelled`;
      out.say(`${who} every signature not submitted yet`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: patient ?? from, by: from, ...receiptJson(receipt) });
    }),
  );

interface CheckArgs extends CommonArgs {
  patient?: string;
  grantee?: string;
  category?: string;
  purpose?: string;
  action?: string;
}

cliTask("consent:check", "Says whether a grantee may act on a patient's data now, and why")
  .addOptionalParam("patient", "The patient (required)")
  .addOptionalParam("grantee", "The provider or person asking (required)")
  .addOptionalParam("category", `The data's category code, e.g. "laboratory", or a bytes32 id (required)`)
  .addOptionalParam("purpose", `One purpose code, e.g. "TREAT" (required)`)
  .addOptionalParam("action", `One action, e.g. "access" (required)`)
  .addFlag("exitCode", "Exit with 1 when the answer is no (2 when the check could not be made)")
  .setAction(
    cliAction(async (args: CheckArgs, hre, out) => {
      const patient = parseAddress(args.patient, "patient");
      const grantee = parseAddress(args.grantee, "grantee");
      const category = parseCategory(args.category);
      if (category === "*") {
        throw new UserError(
          `--category "*" is a scope of consents, never the category of data: name the data's category`,
        );
      }
      const purpose = parseOnePurpose(args.purpose);
      const action = parseOneAction(args.action);
      const { client, now } = await taskContext(hre, { sign: false });
      const answer = await explainAccess(client, { patient, grantee, category, purpose, action, now });
      out.say(`authorised: ${answer.authorised ? "yes" : "no"}, ${answer.reason}: ${answer.explanation}`);
      const keyNote = answer.key === grantee ? "" : ` (provider id ${answer.key})`;
      out.say(
        `consent of ${patient} to ${grantee}${keyNote} for ${category}: ` +
          formatConsent(answer.consent.consent, answer.consent.status),
      );
      if (answer.anyCategory.status !== ConsentStatus.None) {
        out.say(`  for every category ("*"): ${formatConsent(answer.anyCategory.consent, answer.anyCategory.status)}`);
      }
      out.result({
        authorised: answer.authorised,
        reason: answer.reason,
        explanation: answer.explanation,
        patient,
        grantee,
        providerId: answer.key,
        category,
        status: ConsentStatus[answer.consent.status],
        anyCategoryStatus: ConsentStatus[answer.anyCategory.status],
        breakGlassUntil: answer.breakGlassUntil ?? null,
      });
      if (!answer.authorised && args.exitCode) process.exitCode = 1;
    }),
  );

interface SignArgs extends GrantArgs {
  deadline?: string;
  out?: string;
  force?: boolean;
}

const OUT = "The JSON file to write (required); an existing file is kept unless --force";

/** A signed file: the human terms beside the signed data. */
function signedFileText(terms: SignedTerms, signed: object): string {
  return `${toJson({ terms, ...signed })}\n`;
}

withGrantOptions(cliTask("consent:sign", "Signs a grant (EIP-712) as the patient (--from) for a relayer to submit"))
  .addOptionalParam("deadline", `How long the signature can be submitted, e.g. "1h", "7d"`, "1d")
  .addOptionalParam("out", OUT)
  .addFlag("force", "Replace --out if it exists")
  .setAction(
    cliAction(async (args: SignArgs, hre, out) => {
      const file = checkOutputFile(
        required(args.out, "out", "give the JSON file to write, e.g. signed-grant.json"),
        "out",
        Boolean(args.force),
      );
      checkGrantOptions(args);
      const { client, from, now } = await taskContext(hre, { from: args.from, sign: true });
      const params = grantParams(args, now);
      const deadline = now + parseDurationOption(args.deadline ?? "1d", "deadline");
      const signed = await client.signGrant(params, { deadline });
      const terms = grantTerms(signed, params.category.startsWith("0x") ? undefined : params.category);
      writeOutputFile(file, signedFileText(terms, signed));
      out.say(`Patient ${from} signed a grant:`);
      for (const line of termsLines(terms)) out.say(line);
      const { signatureEpoch, sequence } = splitSignatureNonce(signed.nonce);
      out.say(
        `  nonce of this grantee and category: sequence ${sequence}, signature epoch ${signatureEpoch} ` +
          `(signatures for other grantees or categories land in any order)`,
      );
      out.say(`Written to ${file.path}`);
      out.result({ file: file.path, terms, nonce: signed.nonce, sequence, signatureEpoch });
    }),
  );

interface SignRevokeArgs extends KeyArgs {
  deadline?: string;
  out?: string;
  force?: boolean;
}

cliTask("consent:sign-revoke", "Signs a revocation of a permit (EIP-712) as the patient (--from) for a relayer")
  .addOptionalParam("from", FROM)
  .addOptionalParam("grantee", "The grantee whose permit is withdrawn (required)")
  .addOptionalParam("category", `${CATEGORY} (required)`)
  .addOptionalParam("deadline", `How long the signature can be submitted, e.g. "1h", "7d"`, "1d")
  .addOptionalParam("out", OUT)
  .addFlag("force", "Replace --out if it exists")
  .setAction(
    cliAction(async (args: SignRevokeArgs, hre, out) => {
      const file = checkOutputFile(
        required(args.out, "out", "give the JSON file to write, e.g. signed-revoke.json"),
        "out",
        Boolean(args.force),
      );
      const grantee = parseAddress(args.grantee, "grantee");
      const category = parseCategory(args.category);
      const { client, from, now } = await taskContext(hre, { from: args.from, sign: true });
      const deadline = now + parseDurationOption(args.deadline ?? "1d", "deadline");
      const signed = await client.signRevoke({ grantee, category }, { deadline });
      const terms = revokeTerms(signed, category.startsWith("0x") ? undefined : category);
      writeOutputFile(file, signedFileText(terms, signed));
      out.say(`Patient ${from} signed a revocation:`);
      for (const line of termsLines(terms)) out.say(line);
      out.say(`Written to ${file.path}`);
      out.result({ file: file.path, terms, nonce: signed.nonce });
    }),
  );

/** The category label written in a file, when it names the signed category. */
function writtenLabel(written: unknown, category: string): string | undefined {
  const label = (written as { category?: unknown } | null)?.category;
  if (typeof label !== "string") return undefined;
  try {
    return label.startsWith("0x") || categoryId(label) !== category.toLowerCase() ? undefined : label;
  } catch {
    return undefined;
  }
}

cliTask(
  "consent:submit",
  "Shows the terms of a signed grant or revocation (from consent:sign or consent:sign-revoke), then submits it " +
    "as a relayer (--from)",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("file", "The signed grant or revocation JSON file (required)")
  .addFlag("dryRun", "Only show the terms and check the file; send nothing")
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; file?: string; dryRun?: boolean }, hre, out) => {
      const file = required(args.file, "file", "give the JSON file written by consent:sign or consent:sign-revoke");
      const text = readTextFile(file, "file");
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new UserError(`--file ${file} is not JSON: give the file written by consent:sign or consent:sign-revoke`);
      }
      const written = (value as { terms?: unknown } | null)?.terms;
      const { client, from } = await taskContext(hre, { from: args.from, sign: !args.dryRun });
      const { parseSignedGrant, parseSignedRevoke } = await import("../src/client");
      const revocation = isRevocation(value);
      const signed = revocation ? parseSignedRevoke(value) : parseSignedGrant(value);
      const label = writtenLabel(written, signed.request.category);
      const terms = revocation
        ? revokeTerms(signed, label)
        : grantTerms(signed as ReturnType<typeof parseSignedGrant>, label);
      const patientIsContract = (await client.provider.getCode(signed.request.patient)) !== "0x";
      checkSignedFile(signed, terms, written, patientIsContract);
      out.say(`Signed ${terms.kind} in ${file}:`);
      for (const line of termsLines(terms)) out.say(line);
      out.result({ file, terms, submitted: false });
      if (args.dryRun) {
        out.say("Dry run: nothing sent");
        return;
      }
      // The SDK checks the chain, the registry, the deadline, the key's nonce and the signer before sending.
      const receipt = revocation
        ? await client.submitSignedRevoke(signed as ReturnType<typeof parseSignedRevoke>)
        : await client.submitSignedGrant(signed as ReturnType<typeof parseSignedGrant>);
      out.say(`Relayer ${from} submitted it`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ submitted: true, relayer: from, ...receiptJson(receipt) });
    }),
  );

/** Whether a signed file is a revocation: its request has no purposes (a grant's always has). */
function isRevocation(value: unknown): boolean {
  const request = (value as { request?: unknown } | null)?.request;
  return typeof request === "object" && request !== null && !("purposes" in request);
}

interface HistoryArgs extends CommonArgs {
  patient?: string;
  access?: boolean;
  fromBlock?: string;
  indexer?: string;
}

cliTask("consent:history", "Prints a patient's consent history (or, with --access, access history) from the events")
  .addOptionalParam("patient", "The patient (required)")
  .addFlag("access", "Print the access history (recorded accesses, break-glass windows) instead")
  .addOptionalParam("fromBlock", "The first block to read (default: the deployment block)")
  .addOptionalParam("indexer", INDEXER_OPTION_HELP)
  .setAction(
    cliAction(async (args: HistoryArgs, hre, out) => {
      const patient = parseAddress(args.patient, "patient");
      const fromBlock = args.fromBlock?.trim() ? Number(args.fromBlock) : undefined;
      if (fromBlock !== undefined && (!Number.isSafeInteger(fromBlock) || fromBlock < 0)) {
        throw new UserError(`--from-block must be a block number, got "${args.fromBlock}"`);
      }
      const { client } = await taskContext(hre, { sign: false });
      const options = { ...historySourceOption(args.indexer), ...(fromBlock === undefined ? {} : { fromBlock }) };
      const events = args.access
        ? await client.accessHistory(patient, options)
        : await client.consentHistory(patient, options);
      const kind = args.access ? "access" : "consent";
      out.say(`${events.length} ${kind} event(s) of patient ${patient}`);
      for (const event of events) out.say(`  ${formatEvent(event)}`);
      out.result({ patient, kind, events });
    }),
  );
