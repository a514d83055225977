/**
 * privacy:* tasks, privacy mode (docs/privacy.md): a patient signs private consents (keyed category ids, optionally
 * through pairwise pseudonyms) and grants directly with a consent receipt, lists everything by name, and revokes
 * everything by signed revocations a relayer submits one by one; a clinic submits a private consent, checks it and
 * records its accesses with its relationship key, anchors salted fingerprints (optionally of a file encrypted to the
 * patient), and anyone with a file and its salt verifies it.
 *
 * The patient secret comes from the --from wallet (a deterministic signature of a fixed message), or from an
 * encrypted backup (--secret-backup, passphrase in $CONSENT_PRIVACY_PASSPHRASE). It is never printed or written.
 */
import fs from "node:fs";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import { ConsentStatus, RecordStatus, categoryId } from "../src/codes";
import type { ConsentClient } from "../src/client";
import type { PatientPrivacy } from "../src/privacy";
import { formatReceipt, formatTime } from "../scripts/lib/format";
import {
  UserError,
  cliAction,
  cliTask,
  parseActions,
  parseAddress,
  parseDurationOption,
  parseExpiry,
  parseNotBefore,
  parseOneAction,
  parseOnePurpose,
  parsePurposes,
  pickSigner,
  receiptJson,
  required,
  taskContext,
  type CommonArgs,
  FROM_HELP,
} from "./cli";
import { checkOutputFile, readBytesFile, readTextFile, writeOutputFile } from "./lib/files";
import { checkGrantOptions, type GrantTermsArgs } from "./lib/grant-options";
import { toJson } from "./lib/output";
import { SimulatingSigner } from "./lib/simulating-signer";
import { checkSignedFile, grantTerms, termsLines } from "./lib/signed-terms";

const FROM = FROM_HELP;
const BACKUP = "An encrypted secret backup (privacy:backup), for a wallet that does not sign deterministically";
const PASSPHRASE_ENV = "CONSENT_PRIVACY_PASSPHRASE";
const RELATIONSHIP = "The clinic's relationship: the privacy signed consent file, or the consent receipt (required)";
const CODE = `A category code such as "laboratory" ("*" for every category where a scope is allowed)`;

interface SecretArgs extends CommonArgs {
  from?: string;
  secretBackup?: string;
}

function passphrase(): string {
  const value = process.env[PASSPHRASE_ENV] ?? "";
  if (value.length < 8) throw new UserError(`Set ${PASSPHRASE_ENV} to the backup's passphrase (at least 8 characters)`);
  return value;
}

/** The patient's privacy mode: from the backup when given, else from the --from wallet's signature. */
async function patientPrivacy(client: ConsentClient, args: SecretArgs): Promise<PatientPrivacy> {
  const privacy = await import("../src/privacy");
  const codes = (process.env.CONSENT_CATEGORY_CODES ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  if (args.secretBackup?.trim()) {
    const text = readTextFile(args.secretBackup.trim(), "secret-backup");
    let secret: string;
    try {
      secret = await privacy.restoreSecretBackup(text, passphrase());
    } catch (error) {
      throw new UserError(`--secret-backup: ${(error as Error).message}`);
    }
    return privacy.PatientPrivacy.fromSecret(secret, client, await client.address(), { codes });
  }
  try {
    return await privacy.PatientPrivacy.fromWallet(client, { codes });
  } catch (error) {
    if (error instanceof privacy.NonDeterministicWalletError) {
      throw new UserError(`${error.message} On the command line: privacy:backup, then --secret-backup.`);
    }
    throw error;
  }
}

cliTask(
  "privacy:backup",
  "Creates a random patient secret and writes it encrypted (passphrase in $" + PASSPHRASE_ENV + ")",
)
  .addOptionalParam("out", "The backup file to write (required); an existing file is kept unless --force")
  .addFlag("force", "Replace --out if it exists")
  .setAction(
    cliAction(async (args: CommonArgs & { out?: string; force?: boolean }, _hre, out) => {
      const file = checkOutputFile(
        required(args.out, "out", "give the backup file to write"),
        "out",
        Boolean(args.force),
      );
      const { createRandomSecret, exportSecretBackup } = await import("../src/privacy");
      const backup = await exportSecretBackup(createRandomSecret(), passphrase());
      writeOutputFile(file, `${toJson(backup)}\n`);
      out.say(`A new patient secret, encrypted, was written to ${file.path}: keep it, and its passphrase, safe`);
      out.result({ file: file.path });
    }),
  );

cliTask(
  "privacy:pseudonyms",
  "Shows the patient's (--from) main account and pseudonym towards every registered provider",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("secretBackup", BACKUP)
  .setAction(
    cliAction(async (args: SecretArgs, hre, out) => {
      const { client } = await taskContext(hre, { from: args.from, sign: true });
      const accounts = await (await patientPrivacy(client, args)).accounts();
      for (const a of accounts) {
        out.say(
          a.kind === "main" ? `main account  ${a.account}` : `pseudonym     ${a.account} towards ${a.providerId}`,
        );
      }
      out.result({ accounts });
    }),
  );

interface PrivateGrantArgs extends SecretArgs, GrantTermsArgs {
  out?: string;
  force?: boolean;
}

/** A category code (never a 0x id: privacy mode keys codes). */
function categoryCodeOption(value: string | undefined, option = "category"): string {
  const text = required(value, option, `give a category code such as "laboratory"`);
  if (text.startsWith("0x")) throw new UserError(`--${option}: give a category code; privacy mode computes the id`);
  try {
    categoryId(text); // checked as the codes module checks codes
  } catch (error) {
    throw new UserError(`--${option}: ${(error as Error).message}`);
  }
  return text;
}

function grantParams(args: PrivateGrantArgs, now: number) {
  const notBefore = parseNotBefore(args.notBefore);
  return {
    grantee: parseAddress(args.grantee, "grantee"),
    category: categoryCodeOption(args.category),
    purposes: parsePurposes(args.purposes),
    actions: parseActions(args.actions),
    notBefore,
    expiresAt: parseExpiry(args, now, notBefore > now ? notBefore : undefined),
  };
}

/**
 * What privacy:sign and privacy:grant do first, in this order: the output file is checked (not overwritten without
 * --force), then the grant's options, before anything is signed or sent.
 */
async function privateGrantContext(hre: HardhatRuntimeEnvironment, args: PrivateGrantArgs, outHint: string) {
  const file = checkOutputFile(required(args.out, "out", outHint), "out", Boolean(args.force));
  checkGrantOptions(args, categoryCodeOption);
  const { client, now } = await taskContext(hre, { from: args.from, sign: true });
  const privacy = await patientPrivacy(client, args);
  return { file, now, privacy, params: grantParams(args, now) };
}

function withGrantOptions<T extends ReturnType<typeof cliTask>>(definition: T): T {
  return definition
    .addOptionalParam("from", FROM)
    .addOptionalParam("secretBackup", BACKUP)
    .addOptionalParam("grantee", "The provider consented to (required)")
    .addOptionalParam("category", `${CODE} (required)`)
    .addOptionalParam("purposes", `Comma-separated purpose codes, e.g. "TREAT,CAREMGT" (required)`)
    .addOptionalParam("actions", `Comma-separated actions, e.g. "access,collect" (required)`)
    .addOptionalParam("duration", `How long the consent lasts, e.g. "30d" (or --expires)`)
    .addOptionalParam("expires", "When the consent ends: ISO 8601 or unix seconds")
    .addOptionalParam("notBefore", "When the consent starts: ISO 8601 or unix seconds (default now)")
    .addFlag("force", "Replace --out if it exists") as T;
}

withGrantOptions(
  cliTask(
    "privacy:sign",
    "Signs a private consent (keyed category id) for the clinic to submit; --pseudonym signs as the pairwise pseudonym",
  ),
)
  .addFlag(
    "pseudonym",
    "Sign as the patient's pseudonym towards the grantee (never needs gas, never names the main account)",
  )
  .addOptionalParam("deadline", `How long the signature can be submitted, e.g. "1h", "1d"`, "1d")
  .addOptionalParam("out", "The file for the clinic: signed data, terms and its relationship key (required)")
  .setAction(
    cliAction(async (args: PrivateGrantArgs & { pseudonym?: boolean; deadline?: string }, hre, out) => {
      const { file, now, privacy, params } = await privateGrantContext(
        hre,
        args,
        "give the file to write, e.g. private-grant.json",
      );
      const deadline = now + parseDurationOption(args.deadline ?? "1d", "deadline");
      const signed = await privacy.signGrant(params, { deadline, pseudonym: Boolean(args.pseudonym) });
      const terms = grantTerms(signed, params.category);
      writeOutputFile(file, `${toJson({ terms, ...signed })}\n`);
      out.say(`Signed a private consent${args.pseudonym ? " as the pseudonym" : ""}:`);
      for (const line of termsLines(terms)) out.say(line);
      out.say(`  on-chain category ${signed.request.category} (only the grantee's relationship key names it)`);
      out.say(`Written to ${file.path}: give it to the grantee only (it holds the grantee's relationship key)`);
      out.result({ file: file.path, terms, patient: signed.request.patient, category: signed.request.category });
    }),
  );

withGrantOptions(
  cliTask("privacy:grant", "Grants a private consent from the main account (--from) and writes the grantee's receipt"),
)
  .addOptionalParam("out", "The consent receipt for the grantee, with its relationship key (required)")
  .setAction(
    cliAction(async (args: PrivateGrantArgs, hre, out) => {
      const { file, privacy, params } = await privateGrantContext(
        hre,
        args,
        "give the receipt file to write, e.g. receipt.json",
      );
      const { receipt, consentReceipt } = await privacy.grant(params);
      writeOutputFile(file, `${toJson(consentReceipt)}\n`);
      out.say(
        `Patient ${privacy.mainAccount} granted ${consentReceipt.relationship.grantee} ${params.category} (private id ${consentReceipt.categoryId})`,
      );
      out.say(`  ${formatReceipt(receipt)}`);
      out.say(`Receipt for the grantee written to ${file.path}`);
      out.result({ file: file.path, categoryId: consentReceipt.categoryId, ...receiptJson(receipt) });
    }),
  );

cliTask(
  "privacy:submit",
  "Shows the terms of a private signed consent (privacy:sign), checks its relationship key, and submits it (--from pays)",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("file", "The file written by privacy:sign (required)")
  .addFlag("dryRun", "Only show the terms and check the file; send nothing")
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; file?: string; dryRun?: boolean }, hre, out) => {
      const path = required(args.file, "file", "give the file written by privacy:sign");
      const text = readTextFile(path, "file");
      const { parseSignedGrant } = await import("../src/client");
      const { parseRelationship, privateCategoryId } = await import("../src/privacy");
      let value: { terms?: unknown; categoryCode?: unknown };
      let signed: ReturnType<typeof parseSignedGrant>;
      let relationship: ReturnType<typeof parseRelationship>;
      try {
        value = JSON.parse(text) as typeof value;
        signed = parseSignedGrant(value);
        relationship = parseRelationship(value);
      } catch (error) {
        throw new UserError(`--file ${path}: ${(error as Error).message}`);
      }
      const code = typeof value.categoryCode === "string" ? value.categoryCode : "";
      let keyed: string | undefined;
      try {
        keyed = privateCategoryId(relationship.key, code);
      } catch {
        keyed = undefined;
      }
      if (
        keyed !== signed.request.category ||
        relationship.patient !== signed.request.patient ||
        relationship.grantee !== signed.request.grantee
      ) {
        throw new UserError(
          `--file ${path}: its relationship key does not give the signed category, patient and grantee`,
        );
      }
      const { client, from } = await taskContext(hre, { from: args.from, sign: !args.dryRun });
      const terms = grantTerms(signed, code);
      checkSignedFile(signed, terms, value.terms, (await client.provider.getCode(signed.request.patient)) !== "0x");
      out.say(`Private signed grant in ${path}:`);
      for (const line of termsLines(terms)) out.say(line);
      out.result({ file: path, terms, submitted: false });
      if (args.dryRun) {
        out.say("Dry run: nothing sent");
        return;
      }
      const receipt = await client.submitSignedGrant(signed);
      out.say(`${from} submitted it; keep ${path}: it holds your relationship key for this patient`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ submitted: true, relayer: from, ...receiptJson(receipt) });
    }),
  );

interface RelationshipArgs extends CommonArgs {
  from?: string;
  relationship?: string;
  category?: string;
  purpose?: string;
  action?: string;
  grantee?: string;
}

async function readRelationship(args: RelationshipArgs) {
  const file = required(
    args.relationship,
    "relationship",
    "give the privacy signed consent file or the consent receipt",
  );
  const { parseRelationship } = await import("../src/privacy");
  try {
    return parseRelationship(readTextFile(file, "relationship"));
  } catch (error) {
    throw new UserError(`--relationship ${file}: ${(error as Error).message}`);
  }
}

cliTask(
  "privacy:check",
  "Says whether the clinic may act on the patient's data, by its relationship key and a category code",
)
  .addOptionalParam("relationship", RELATIONSHIP)
  .addOptionalParam("grantee", "The account asking (default: the relationship's grantee)")
  .addOptionalParam("category", `The data's category code, e.g. "laboratory" (required)`)
  .addOptionalParam("purpose", `One purpose code, e.g. "TREAT" (required)`)
  .addOptionalParam("action", `One action, e.g. "access" (required)`)
  .addFlag("exitCode", "Exit with 1 when the answer is no (2 when the check could not be made)")
  .setAction(
    cliAction(async (args: RelationshipArgs, hre, out) => {
      const relationship = await readRelationship(args);
      const code = categoryCodeOption(args.category);
      if (code === "*") throw new UserError(`--category "*" is a scope of consents, never the category of data`);
      const purpose = parseOnePurpose(args.purpose);
      const action = parseOneAction(args.action);
      const grantee = args.grantee?.trim() ? parseAddress(args.grantee, "grantee") : relationship.grantee;
      const { relationshipCategoryId } = await import("../src/privacy");
      const category = relationshipCategoryId(relationship, code);
      const { client } = await taskContext(hre, { sign: false });
      const authorised = await client.isAuthorized(relationship.patient, grantee, category, purpose, action);
      out.say(
        `authorised: ${authorised ? "yes" : "no"} (${relationship.patient} to ${grantee} for ${code}, id ${category})`,
      );
      out.result({ authorised, patient: relationship.patient, grantee, categoryCode: code, category });
      if (!authorised && args.exitCode) process.exitCode = 1;
    }),
  );

cliTask("privacy:record-access", "Records the clinic's (--from) access under its relationship's private category id")
  .addOptionalParam("from", FROM)
  .addOptionalParam("relationship", RELATIONSHIP)
  .addOptionalParam("category", `The data's category code (required)`)
  .addOptionalParam("purpose", `One purpose code, e.g. "TREAT" (required)`)
  .addOptionalParam("action", `One action, e.g. "access" (required)`)
  .addOptionalParam("recordId", "The record accessed (default none)")
  .setAction(
    cliAction(async (args: RelationshipArgs & { recordId?: string }, hre, out) => {
      const relationship = await readRelationship(args);
      const code = categoryCodeOption(args.category);
      const purpose = parseOnePurpose(args.purpose);
      const action = parseOneAction(args.action);
      const { relationshipCategoryId } = await import("../src/privacy");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const category = relationshipCategoryId(relationship, code);
      const receipt = args.recordId?.trim()
        ? await client.recordAccess(relationship.patient, category, purpose, action, args.recordId.trim())
        : await client.recordAccess(relationship.patient, category, purpose, action);
      out.say(`${from} recorded its access to ${code} of ${relationship.patient}`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ patient: relationship.patient, category, ...receiptJson(receipt) });
    }),
  );

interface AnchorArgs extends RelationshipArgs {
  file?: string;
  saltOut?: string;
  encryptedOut?: string;
  uri?: string;
  force?: boolean;
}

cliTask(
  "privacy:anchor",
  "Anchors a salted fingerprint of a file under the relationship's private category (the clinic, --from)",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("relationship", RELATIONSHIP)
  .addOptionalParam("category", `The record's category code (required)`)
  .addOptionalParam("file", "The record's file (required)")
  .addOptionalParam("saltOut", "Where to write the record's salt, to travel with the file (required)")
  .addOptionalParam(
    "encryptedOut",
    "Encrypt the file to the patient (from the signature in --relationship) and write it here",
  )
  .addOptionalParam("uri", "Where the file is kept (default: ipfs://<CID of the encrypted file>, or none)")
  .addFlag("force", "Replace output files that exist")
  .setAction(
    cliAction(async (args: AnchorArgs, hre, out) => {
      const relationship = await readRelationship(args);
      const code = categoryCodeOption(args.category);
      const bytes = readBytesFile(required(args.file, "file", "give the record's file"), "file");
      const saltFile = checkOutputFile(
        required(args.saltOut, "salt-out", "give the salt file to write"),
        "salt-out",
        Boolean(args.force),
      );
      const encryptedFile = args.encryptedOut?.trim()
        ? checkOutputFile(args.encryptedOut.trim(), "encrypted-out", Boolean(args.force))
        : undefined;
      const privacy = await import("../src/privacy");
      const { cidFor } = await import("../src/records");
      let uri = args.uri?.trim() ?? "";
      let encrypted: Uint8Array | undefined;
      if (encryptedFile) {
        const { parseSignedGrant } = await import("../src/client");
        let publicKey: string;
        try {
          publicKey = privacy.publicKeyOfSignedGrant(
            parseSignedGrant(readTextFile(args.relationship as string, "relationship")),
          );
        } catch (error) {
          throw new UserError(`--encrypted-out needs a signed consent as --relationship: ${(error as Error).message}`);
        }
        encrypted = privacy.encryptForGrantee(publicKey, bytes);
        if (!uri) uri = `ipfs://${cidFor(encrypted)}`;
      }
      const { client } = await taskContext(hre, { from: args.from, sign: true });
      const salt = privacy.saltRecord(bytes, relationship.patient);
      // The salt and the encrypted file are written before anything is sent: a paid anchor never loses its salt.
      writeOutputFile(saltFile, `${toJson(salt)}\n`);
      if (encryptedFile && encrypted) fs.writeFileSync(encryptedFile.path, encrypted);
      const category = privacy.relationshipCategoryId(relationship, code);
      const anchored = await client.anchor({
        patient: relationship.patient,
        category,
        contentHash: salt.contentHash,
        uri,
      });
      out.say(`Anchored HMAC-SHA-256(salt, file) ${salt.contentHash} for ${relationship.patient} (${code})`);
      out.say(`  record id ${anchored.recordId}; salt in ${saltFile.path}${uri ? `; uri ${uri}` : ""}`);
      out.say(`  ${formatReceipt(anchored.receipt)}`);
      out.result({
        recordId: anchored.recordId,
        contentHash: salt.contentHash,
        saltFile: saltFile.path,
        uri,
        ...receiptJson(anchored.receipt),
      });
    }),
  );

cliTask("privacy:verify", "Checks a file against its salt (privacy:anchor's salt file): anchored for the patient?")
  .addOptionalParam("file", "The copy to check (required)")
  .addOptionalParam("salt", "The record's salt file (required)")
  .addFlag("exitCode", "Exit with 1 when the answer is no (2 when the check could not be made)")
  .setAction(
    cliAction(async (args: CommonArgs & { file?: string; salt?: string }, hre, out) => {
      const bytes = readBytesFile(required(args.file, "file", "give the file to check"), "file");
      const saltPath = required(args.salt, "salt", "give the salt file written by privacy:anchor");
      const { parseRecordSalt, verifySaltedFile } = await import("../src/privacy");
      let salt: ReturnType<typeof parseRecordSalt>;
      try {
        salt = parseRecordSalt(readTextFile(saltPath, "salt"));
      } catch (error) {
        throw new UserError(`--salt ${saltPath}: ${(error as Error).message}`);
      }
      const { client } = await taskContext(hre, { sign: false });
      const result = await verifySaltedFile(client.records, salt.patient, bytes, salt.salt);
      out.result({ verified: result.anchored, patient: salt.patient, contentHash: result.contentHash });
      if (!result.anchored) {
        out.say(`anchored: no (this file with this salt is not anchored for ${salt.patient})`);
        if (args.exitCode) process.exitCode = 1;
        return;
      }
      out.say(
        `anchored: yes, ${RecordStatus[result.status]}, since ${formatTime(result.anchoredAt)} (record ${result.recordId})`,
      );
      out.result({ recordId: result.recordId, status: RecordStatus[result.status], anchoredAt: result.anchoredAt });
    }),
  );

cliTask("privacy:list", "Lists the patient's (--from) consents, accesses and records across every pseudonym, by name")
  .addOptionalParam("from", FROM)
  .addOptionalParam("secretBackup", BACKUP)
  .setAction(
    cliAction(async (args: SecretArgs, hre, out) => {
      const { client } = await taskContext(hre, { from: args.from, sign: true });
      const listing = await (await patientPrivacy(client, args)).list();
      const who = (account: string) => {
        const found = listing.accounts.find((a) => a.account === account);
        return found?.kind === "pseudonym" ? `pseudonym ${account} (towards ${found.providerId})` : `main ${account}`;
      };
      out.say(
        `${listing.consents.length} consent(s), ${listing.accesses.length} access(es), ${listing.records.length} record(s)`,
      );
      for (const c of listing.consents) {
        out.say(
          `  consent ${c.categoryCode ?? c.category} to ${c.grantee}: ${ConsentStatus[c.status]}, until ${formatTime(c.consent.expiresAt)}, ${who(c.account)}`,
        );
      }
      for (const a of listing.accesses)
        out.say(
          `  access  ${a.categoryCode ?? a.category} by ${a.grantee} (${a.action}, ${a.purpose}), ${who(a.account)}`,
        );
      for (const e of listing.emergencies)
        out.say(`  break-glass by ${e.provider} until ${formatTime(e.expiresAt)}, ${who(e.account)}`);
      for (const r of listing.records)
        out.say(
          `  record  ${r.categoryCode ?? r.category} ${r.recordId}: ${RecordStatus[r.status]}, by ${r.anchoredBy}, ${who(r.account)}`,
        );
      out.result({
        accounts: listing.accounts,
        consents: listing.consents.map((c) => ({ ...c, status: ConsentStatus[c.status] })),
        accesses: listing.accesses,
        emergencies: listing.emergencies,
        records: listing.records.map((r) => ({ ...r, status: RecordStatus[r.status] })),
      });
    }),
  );

cliTask(
  "privacy:revoke-all",
  "Revokes every permit of the patient (--from) across the main account and every pseudonym: one revokeAll of the main account, and signed revocations of the pseudonyms a relayer submits one by one",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("secretBackup", BACKUP)
  .addOptionalParam(
    "relayer",
    "The account that submits and pays for the pseudonyms' revocations (required; not --from): an index or one of the accounts",
  )
  .addOptionalParam("deadline", `How long the signatures can be submitted, e.g. "1h"`, "1h")
  .setAction(
    cliAction(async (args: SecretArgs & { relayer?: string; deadline?: string }, hre, out) => {
      required(
        args.relayer,
        "relayer",
        "give the account that submits the pseudonyms' revocations (it pays; the main account never names a pseudonym)",
      );
      const deadlineSeconds = parseDurationOption(args.deadline ?? "1h", "deadline");
      const { client, deployment, now } = await taskContext(hre, { from: args.from, sign: true });
      const relayerClient = await relayerOf(hre, args.relayer as string, deployment);
      if ((await relayerClient.address()) === (await client.address())) {
        throw new UserError(
          "--relayer is the patient's own account: a transaction from it naming a pseudonym would link the two; give another account",
        );
      }
      const privacy = await patientPrivacy(client, args);
      const result = await privacy.revokeEverything(relayerClient, { deadline: now + deadlineSeconds });
      if (result.main) {
        out.say(
          `The main account revoked its ${result.mainPermits.length} permit(s) (and cancelled its unsubmitted signatures) in one transaction: ${formatReceipt(result.main)}`,
        );
      }
      out.say(
        `${result.submitted.length} permit(s) of pseudonyms revoked by the relayer, each in its own transaction; ${result.skipped.length} skipped`,
      );
      for (const s of result.submitted) out.say(`  ${s.signed.request.grantee}: tx ${s.transaction}`);
      for (const s of result.skipped) out.say(`  skipped ${s.signed.request.grantee}: ${s.reason}`);
      out.result({
        revoked: [
          ...result.mainPermits.map((c) => ({
            patient: c.account,
            grantee: c.grantee,
            transaction: result.main?.hash,
          })),
          ...result.submitted.map((s) => ({
            patient: s.signed.request.patient,
            grantee: s.signed.request.grantee,
            transaction: s.transaction,
          })),
        ],
        skipped: result.skipped.map((s) => ({
          patient: s.signed.request.patient,
          grantee: s.signed.request.grantee,
          reason: s.reason,
        })),
      });
      if (result.skipped.length > 0) process.exitCode = 1;
    }),
  );

async function relayerOf(
  hre: HardhatRuntimeEnvironment,
  relayer: string,
  deployment: Parameters<typeof import("../src/client").connect>[1],
): Promise<ConsentClient> {
  const { connect } = await import("../src/client");
  return connect(new SimulatingSigner(await pickSigner(hre, relayer)), deployment);
}
