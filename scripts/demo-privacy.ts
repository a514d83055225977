/**
 * `npm run demo:privacy -- --network localhost`: the story of privacy mode (docs/privacy.md) on a node started
 * beforehand (`npx hardhat node`, or Anvil), through the SDK. Without --network it runs on the in-process chain.
 *
 * The registrar (dev account 0) deploys the registries and registers two clinics (accounts 2 and 3). The patient
 * (account 1) derives the privacy secret from a signature of the wallet, and signs a private consent for each clinic
 * through a pairwise pseudonym; each clinic submits its own (and pays). Clinic A checks its consent with the ids of its
 * relationship key and records an access; it anchors a synthetic lab report under a salted fingerprint, encrypted to
 * the patient's pseudonym before it is "published"; anyone holding the file and its salt verifies it. The patient
 * lists everything by name, from the wallet alone.
 *
 * The patient's main account sends nothing, and nothing sent names it. Every file the story hands over (signed
 * consents with their relationship keys, the encrypted record, its salt) is written to a folder: $PRIVACY_DEMO_DIR,
 * else a fresh temporary folder; a summary for checks is written there as summary.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { toUtf8Bytes, type ContractTransactionReceipt } from "ethers";

import {
  Action,
  Capability,
  ConsentStatus,
  PatientPrivacy,
  Purpose,
  RecordStatus,
  cidFor,
  connect,
  contentHash,
  decryptForGrantee,
  encryptForGrantee,
  parseRelationship,
  publicKeyOfSignedGrant,
  relationshipCategoryId,
  saltRecord,
  verifySaltedFile,
  type PrivateSignedGrant,
} from "../src";
import { deployRegistries } from "./lib/deploy-registries";
import { formatTime } from "./lib/format";

const DAY = 24 * 60 * 60;

function say(line = ""): void {
  console.log(line);
}

function step(title: string): void {
  say();
  say(`== ${title}`);
}

function gas(what: string, receipt: Pick<ContractTransactionReceipt, "gasUsed" | "hash" | "from">): void {
  say(
    `   ${what}: tx ${receipt.hash.slice(0, 12)}... from ${receipt.from}, gas ${receipt.gasUsed.toLocaleString("en-US")}`,
  );
}

/** A synthetic lab report: made-up values, no personal data. */
function syntheticLabReport(): Uint8Array {
  const report = {
    resourceType: "DiagnosticReport",
    status: "final",
    category: "laboratory",
    code: "HbA1c panel",
    specimen: "SPECIMEN-PRIVACY-DEMO-0001",
    results: [{ test: "HbA1c", value: 5.4, unit: "%" }],
    note: "Synthetic demo data",
  };
  return toUtf8Bytes(JSON.stringify(report, null, 2));
}

function outputDir(): string {
  const dir = process.env.PRIVACY_DEMO_DIR?.trim();
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }
  return fs.mkdtempSync(path.join(os.tmpdir(), "consent-privacy-demo-"));
}

async function main(): Promise<void> {
  const dir = outputDir();
  const write = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(
      file,
      typeof value === "string" || value instanceof Uint8Array ? value : `${JSON.stringify(value, null, 2)}\n`,
    );
    return file;
  };
  const [registrarSigner, patientSigner, clinicASigner, clinicBSigner] = await hre.ethers.getSigners();
  const [patient, clinicA, clinicB] = [patientSigner, clinicASigner, clinicBSigner].map((s) => s.address);

  step(`1. Deploy the registries on ${hre.network.name} (the registrar, account 0, pays)`);
  const deployment = await deployRegistries(hre);
  say(`   ConsentRegistry ${deployment.consentRegistry}, RecordRegistry ${deployment.recordRegistry}`);
  const asRegistrar = connect(registrarSigner, deployment);
  const asClinicA = connect(clinicASigner, deployment);
  const asClinicB = connect(clinicBSigner, deployment);
  const asPatient = connect(patientSigner, deployment);

  step("2. The registrar registers two clinics");
  gas("register clinic A", await asRegistrar.registerProvider(clinicA, "npi:privacy-demo-a", Capability.TREATMENT));
  gas("register clinic B", await asRegistrar.registerProvider(clinicB, "npi:privacy-demo-b", Capability.TREATMENT));

  step("3. The patient (account 1) turns privacy mode on: a signature of the wallet, no transaction");
  const privacy = await PatientPrivacy.fromWallet(asPatient);
  const pseudonymA = privacy.pseudonym(clinicA).address;
  const pseudonymB = privacy.pseudonym(clinicB).address;
  say(`   main account ${patient} (sends nothing in this story)`);
  say(`   pseudonym towards clinic A: ${pseudonymA}`);
  say(`   pseudonym towards clinic B: ${pseudonymB}`);

  step("4. The patient signs a private consent for each clinic, as its pseudonym; each clinic submits its own");
  const now = await asClinicA.latestTimestamp();
  const signedA = await privacy.signGrant(
    {
      grantee: clinicA,
      category: "laboratory",
      purposes: [Purpose.TREAT],
      actions: [Action.ACCESS, Action.COLLECT],
      expiresAt: now + 30 * DAY,
    },
    { deadline: now + DAY, pseudonym: true },
  );
  const signedB = await privacy.signGrant(
    {
      grantee: clinicB,
      category: "mental-health",
      purposes: [Purpose.TREAT],
      actions: [Action.ACCESS],
      expiresAt: now + 30 * DAY,
    },
    { deadline: now + DAY, pseudonym: true },
  );
  const fileA = write("signed-clinic-a.json", signedA);
  const fileB = write("signed-clinic-b.json", signedB);
  say(`   for clinic A: laboratory, TREAT, access+collect, 30 days -> ${fileA}`);
  say(`   for clinic B: mental-health, TREAT, access, 30 days -> ${fileB}`);
  say(`   on-chain category of clinic A's consent: ${signedA.request.category} (keyed: names nothing)`);
  const received = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as PrivateSignedGrant;
  gas("clinic A submits", await asClinicA.submitSignedGrant(received(fileA)));
  gas("clinic B submits", await asClinicB.submitSignedGrant(received(fileB)));

  step("5. Clinic A checks its consent with its relationship key, and records its access");
  const relationshipA = parseRelationship(received(fileA));
  const relationshipB = parseRelationship(received(fileB));
  const labA = relationshipCategoryId(relationshipA, "laboratory");
  const okA = await asClinicA.isAuthorized(relationshipA.patient, clinicA, labA, Purpose.TREAT, Action.ACCESS);
  const okB = await asClinicB.isAuthorized(
    relationshipB.patient,
    clinicB,
    relationshipCategoryId(relationshipB, "mental-health"),
    Purpose.TREAT,
    Action.ACCESS,
  );
  const publicId = await asClinicA.isAuthorized(
    relationshipA.patient,
    clinicA,
    "laboratory",
    Purpose.TREAT,
    Action.ACCESS,
  );
  say(
    `   clinic A may access laboratory: ${okA ? "yes" : "no"}; clinic B may access mental-health: ${okB ? "yes" : "no"}`,
  );
  say(`   asked with the public id of "laboratory": ${publicId ? "yes" : "no"} (the public id names no consent)`);
  if (!okA || !okB || publicId) throw new Error("The clinics' checks did not answer as expected");
  gas(
    "clinic A records its access",
    await asClinicA.recordAccess(relationshipA.patient, labA, Purpose.TREAT, Action.ACCESS),
  );

  step("6. Clinic A anchors a private record: salted fingerprint, file encrypted to the patient's pseudonym");
  const report = syntheticLabReport();
  const salt = saltRecord(report, relationshipA.patient);
  const encrypted = encryptForGrantee(publicKeyOfSignedGrant(received(fileA)), report);
  const uri = `ipfs://${cidFor(encrypted)}`;
  const anchored = await asClinicA.anchor({
    patient: relationshipA.patient,
    category: labA,
    contentHash: salt.contentHash,
    uri,
  });
  write("lab-report.json", report);
  write("lab-report.json.ecies", encrypted);
  write("lab-report.salt.json", salt);
  say(`   plain SHA-256 ${contentHash(report)} (never sent)`);
  say(`   anchored HMAC-SHA-256(salt, file) ${salt.contentHash}, uri ${uri} (the ciphertext's CID)`);
  gas("clinic A anchors", anchored.receipt);
  const withSalt = await verifySaltedFile(asClinicA.records, relationshipA.patient, report, salt.salt);
  const guess = await asClinicA.verifyFile(relationshipA.patient, report);
  const guessMain = await asClinicA.verifyFile(patient, report);
  say(
    `   verified with the file and its salt: ${withSalt.anchored ? "anchored" : "not anchored"} (${RecordStatus[withSalt.status]}, ${formatTime(withSalt.anchoredAt)})`,
  );
  say(
    `   verified with the plain SHA-256 (a guess): ${guess.anchored || guessMain.anchored ? "anchored" : "not anchored"}`,
  );
  const decrypted = decryptForGrantee(privacy.pseudonym(clinicA).privateKey, encrypted);
  say(
    `   the patient decrypts the published file with the pseudonym's key: ${Buffer.from(decrypted).equals(Buffer.from(report)) ? "same bytes" : "DIFFERENT"}`,
  );

  step("7. The patient lists everything by name, from the wallet alone");
  const again = await PatientPrivacy.fromWallet(asPatient);
  const listing = await again.list();
  const label = (account: string) =>
    account === patient ? "main" : account === pseudonymA ? "pseudonym A" : "pseudonym B";
  for (const c of listing.consents) {
    say(`   consent: ${label(c.account)} -> ${c.grantee}: ${c.categoryCode ?? c.category}, ${ConsentStatus[c.status]}`);
  }
  for (const a of listing.accesses)
    say(`   access: ${a.grantee} ${a.action} ${a.categoryCode ?? a.category} for ${a.purpose} (${label(a.account)})`);
  for (const r of listing.records)
    say(
      `   record: ${r.categoryCode ?? r.category}, ${RecordStatus[r.status]}, anchored by ${r.anchoredBy} (${label(r.account)})`,
    );

  const summary = {
    network: hre.network.name,
    deployment,
    patient,
    clinics: [clinicA, clinicB],
    pseudonyms: [pseudonymA, pseudonymB],
    files: {
      signed: [fileA, fileB],
      record: path.join(dir, "lab-report.json"),
      salt: path.join(dir, "lab-report.salt.json"),
    },
    listing: {
      consents: listing.consents.map((c) => ({
        account: c.account,
        grantee: c.grantee,
        categoryCode: c.categoryCode,
        status: ConsentStatus[c.status],
      })),
      accesses: listing.accesses.map((a) => ({ account: a.account, grantee: a.grantee, categoryCode: a.categoryCode })),
      records: listing.records.map((r) => ({
        account: r.account,
        categoryCode: r.categoryCode,
        status: RecordStatus[r.status],
      })),
    },
  };
  say();
  say(`Files and summary: ${write("summary.json", summary)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
