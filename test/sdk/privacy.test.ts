/**
 * Privacy mode in the SDK (src/privacy, docs/privacy.md): the patient secret and its backup, private categories,
 * pairwise pseudonyms, salted fingerprints, encryption to a grantee, and the whole flow on the in-process chain.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, Signature, Wallet, getAddress, hexlify, keccak256, randomBytes, toUtf8Bytes } from "ethers";
import type { DocumentReference } from "fhir/r4";

import {
  ANY_CATEGORY,
  Action,
  CATEGORY_CODES,
  CategoryNames,
  ConsentStatus,
  NonDeterministicWalletError,
  PatientPrivacy,
  Purpose,
  RecordStatus,
  categoryId,
  cidFor,
  contentHash,
  createRandomSecret,
  decryptForGrantee,
  derivePatientSecret,
  encryptForGrantee,
  encryptionPublicKey,
  exportSecretBackup,
  hasDeterministicSignatures,
  parseRecordSalt,
  parseRelationship,
  privateCategoryCode,
  privateCategoryId,
  pseudonymAddress,
  recordSaltOf,
  relationshipCategoryId,
  relationshipKey,
  restoreSecretBackup,
  saltRecord,
  saltedContentHash,
  secretFromSignature,
  submitRevocations,
  verifySaltedFile,
  withRecordSalt,
} from "../../src";
import { DAY } from "../helpers/fixtures";
import { deploySdk } from "./fixture";

/** A signer whose signatures differ every time, as many smart accounts' do. */
class RandomSigner {
  async signTypedData(): Promise<string> {
    return hexlify(randomBytes(65));
  }
}

const SECRET = `0x${"11".repeat(32)}`;
const CLINIC = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const OTHER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const PATIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("SDK privacy mode", function () {
  describe("the patient secret", function () {
    it("is derived deterministically from the wallet's signature, with any v encoding", async function () {
      const wallet = Wallet.createRandom();
      const secret = await derivePatientSecret(wallet);
      expect(secret).to.match(/^0x[0-9a-f]{64}$/);
      expect(await derivePatientSecret(wallet)).to.equal(secret);
      expect(await hasDeterministicSignatures(wallet)).to.equal(true);
      expect(await derivePatientSecret(Wallet.createRandom())).to.not.equal(secret);
      const { signSecretMessage } = await import("../../src/privacy/secret");
      const sig = Signature.from(await signSecretMessage(wallet));
      const vZeroOne = `${sig.r}${sig.s.slice(2)}${(sig.v - 27).toString(16).padStart(2, "0")}`;
      expect(secretFromSignature(vZeroOne)).to.equal(secret);
    });

    it("is refused from a wallet that signs differently twice", async function () {
      const signer = new RandomSigner();
      expect(await hasDeterministicSignatures(signer)).to.equal(false);
      await expect(derivePatientSecret(signer)).to.be.rejectedWith(NonDeterministicWalletError, /not deterministic/);
    });

    it("is kept as an encrypted backup that only its passphrase opens", async function () {
      const secret = createRandomSecret();
      const backup = await exportSecretBackup(secret, "correct horse battery", { N: 2 ** 10 });
      expect(JSON.stringify(backup)).to.not.contain(secret.slice(2));
      expect(await restoreSecretBackup(JSON.stringify(backup), "correct horse battery")).to.equal(secret);
      await expect(restoreSecretBackup(backup, "wrong horse battery")).to.be.rejectedWith(/wrong passphrase/);
      const flipped = backup.ciphertext.slice(0, -2) + (backup.ciphertext.endsWith("00") ? "01" : "00");
      await expect(restoreSecretBackup({ ...backup, ciphertext: flipped }, "correct horse battery")).to.be.rejectedWith(
        /altered/,
      );
      await expect(restoreSecretBackup({ ...backup, kdf: { ...backup.kdf, N: 2 ** 30 } }, "x".repeat(8))).to.be
        .rejected;
      await expect(exportSecretBackup(secret, "short")).to.be.rejectedWith(/at least 8/);
    });
  });

  describe("private categories", function () {
    it("key every category id per relationship, and only the key names it", function () {
      const key = relationshipKey(SECRET, CLINIC, PATIENT);
      const lab = privateCategoryId(key, "laboratory");
      expect(lab).to.equal(keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "string"], [key, "laboratory"])));
      const publicIds = CATEGORY_CODES.map((code) => categoryId(code));
      for (const code of CATEGORY_CODES) expect(publicIds).to.not.include(privateCategoryId(key, code));
      expect(privateCategoryId(relationshipKey(SECRET, OTHER, PATIENT), "laboratory")).to.not.equal(lab);
      expect(privateCategoryId(relationshipKey(SECRET, CLINIC, OTHER), "laboratory")).to.not.equal(lab);
      expect(privateCategoryId(relationshipKey(createRandomSecret(), CLINIC, PATIENT), "laboratory")).to.not.equal(lab);
      expect(privateCategoryCode(key, lab)).to.equal("laboratory");
      expect(privateCategoryCode(relationshipKey(SECRET, OTHER, PATIENT), lab)).to.equal(undefined);
      expect(privateCategoryId(key, "*")).to.equal(ANY_CATEGORY);
      expect(relationshipCategoryId({ key }, "*")).to.equal(ANY_CATEGORY);
      expect(() => privateCategoryId(key, "Laboratory")).to.throw(/lower-case/);
      const names = new CategoryNames(SECRET, [...CATEGORY_CODES, "dental"]);
      names.add(CLINIC, PATIENT);
      expect(names.name(privateCategoryId(key, "dental"))).to.equal("dental");
      expect(names.name(categoryId("imaging"))).to.equal("imaging");
      expect(names.relationshipOf(lab)).to.deep.equal({ code: "laboratory", grantee: CLINIC, account: PATIENT });
    });
  });

  describe("pairwise pseudonyms", function () {
    it("are one account per provider, derived again from the secret alone", function () {
      const a = pseudonymAddress(SECRET, CLINIC);
      expect(pseudonymAddress(SECRET, CLINIC.toLowerCase())).to.equal(a);
      expect(pseudonymAddress(SECRET, OTHER)).to.not.equal(a);
      expect(pseudonymAddress(createRandomSecret(), CLINIC)).to.not.equal(a);
    });
  });

  describe("salted fingerprints", function () {
    it("are HMAC-SHA-256 keyed by the salt (RFC 4231 test case 1)", function () {
      const salt = `0x${"0b".repeat(20)}`;
      expect(saltedContentHash(toUtf8Bytes("Hi There"), salt)).to.equal(
        "0xb0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      );
      expect(() => saltedContentHash(toUtf8Bytes("x"), "0x0102")).to.throw(/at least 16 bytes/);
      const file = toUtf8Bytes("HbA1c 5.4%");
      const a = saltRecord(file, PATIENT);
      const b = saltRecord(file, PATIENT);
      expect(a.contentHash).to.not.equal(b.contentHash);
      expect(a.contentHash).to.not.equal(contentHash(file));
      expect(parseRecordSalt(JSON.stringify(a))).to.deep.equal(a);
    });

    it("travel in a FHIR DocumentReference", function () {
      const salt = hexlify(randomBytes(32));
      const doc: DocumentReference = {
        resourceType: "DocumentReference",
        status: "current",
        content: [{ attachment: { contentType: "application/octet-stream", url: "ipfs://x" } }],
      };
      const carried = withRecordSalt(doc, salt);
      expect(recordSaltOf(carried)).to.equal(salt);
      expect(recordSaltOf(withRecordSalt(carried, salt))).to.equal(salt);
      expect(recordSaltOf(doc)).to.equal(undefined);
    });
  });

  describe("encryption to a grantee", function () {
    it("encrypts so that only the grantee's key decrypts, and the CID reveals nothing", function () {
      const grantee = Wallet.createRandom();
      const file = toUtf8Bytes("a synthetic discharge letter");
      const one = encryptForGrantee(encryptionPublicKey(grantee.privateKey), file);
      const two = encryptForGrantee(grantee.signingKey.publicKey, file);
      expect(hexlify(one)).to.not.equal(hexlify(two));
      expect(cidFor(one)).to.not.equal(cidFor(file));
      expect(hexlify(decryptForGrantee(grantee.privateKey, one))).to.equal(hexlify(file));
      expect(hexlify(decryptForGrantee(grantee.privateKey, two))).to.equal(hexlify(file));
      expect(() => decryptForGrantee(Wallet.createRandom().privateKey, one)).to.throw(/not encrypted to this key/);
      expect(() => encryptForGrantee("0x1234", file)).to.throw(/public key/);
    });
  });

  describe("the flow on the chain", function () {
    async function privateFixture() {
      const f = await deploySdk();
      const privacy = await PatientPrivacy.fromWallet(f.patientClient);
      return { ...f, privacy };
    }

    it("lets a clinic check, record and anchor under private ids through a pseudonym the patient never names", async function () {
      const { privacy, patient, clinic, clinicClient, relayerClient, emergencyDoctor, records } =
        await loadFixture(privateFixture);
      const now = await time.latest();
      const pseudonym = privacy.pseudonym(clinic.address).address;
      expect(pseudonym).to.not.equal(patient.address);

      const signed = await privacy.signGrant(
        {
          grantee: clinic.address,
          category: "laboratory",
          purposes: [Purpose.TREAT],
          actions: [Action.ACCESS, Action.COLLECT],
          expiresAt: now + 30 * DAY,
        },
        { deadline: now + DAY, pseudonym: true },
      );
      expect(signed.request.patient).to.equal(pseudonym);
      expect(JSON.stringify(signed.request)).to.not.contain(categoryId("laboratory").slice(2));
      const receipt = await clinicClient.submitSignedGrant(JSON.stringify(signed));
      const relationship = parseRelationship(JSON.stringify(signed));
      expect(relationship.patient).to.equal(pseudonym);

      const lab = relationshipCategoryId(relationship, "laboratory");
      expect(await clinicClient.isAuthorized(pseudonym, clinic.address, lab, Purpose.TREAT, Action.ACCESS)).to.equal(
        true,
      );
      expect(
        await clinicClient.isAuthorized(pseudonym, clinic.address, "laboratory", Purpose.TREAT, Action.ACCESS),
      ).to.equal(false);
      expect(
        await clinicClient.isAuthorized(patient.address, clinic.address, lab, Purpose.TREAT, Action.ACCESS),
      ).to.equal(false);
      const access = await clinicClient.recordAccess(pseudonym, lab, Purpose.TREAT, Action.ACCESS);

      // A private record: salted fingerprint, anchored by the clinic under the private id with its COLLECT permit.
      const file = toUtf8Bytes("synthetic HbA1c 5.4%");
      const salt = saltRecord(file, pseudonym);
      const anchored = await clinicClient.anchor({
        patient: pseudonym,
        category: lab,
        contentHash: salt.contentHash,
        uri: `ipfs://${cidFor(encryptForGrantee(Wallet.createRandom().signingKey.publicKey, file))}`,
      });
      expect(anchored.recordId).to.equal(salt.recordId);
      expect((await verifySaltedFile(records, pseudonym, file, salt.salt)).anchored).to.equal(true);
      expect((await verifySaltedFile(records, pseudonym, file, `0x${"00".repeat(32)}`)).anchored).to.equal(false);
      expect((await clinicClient.verifyFile(pseudonym, file)).anchored).to.equal(false);
      expect((await clinicClient.verifyFile(patient.address, file)).anchored).to.equal(false);

      // A direct private grant from the main account, with a receipt for the grantee.
      const direct = await privacy.grant({
        grantee: emergencyDoctor.address,
        category: "mental-health",
        purposes: [Purpose.TREAT],
        actions: [Action.ACCESS],
        expiresAt: now + 30 * DAY,
      });
      const doctorLab = relationshipCategoryId(parseRelationship(direct.consentReceipt), "mental-health");
      expect(doctorLab).to.equal(direct.consentReceipt.categoryId);
      expect(
        await relayerClient.isAuthorized(
          patient.address,
          emergencyDoctor.address,
          doctorLab,
          Purpose.TREAT,
          Action.ACCESS,
        ),
      ).to.equal(true);

      // Nothing the relayer, clinic or pseudonym sent names the main address, or a public category id.
      const publicIds = CATEGORY_CODES.map((code) => categoryId(code).slice(2));
      const main = patient.address.slice(2).toLowerCase();
      for (const r of [receipt, access, anchored.receipt]) {
        const tx = await clinicClient.provider.getTransaction(r.hash);
        const words = [tx?.from, tx?.to, tx?.data, ...r.logs.flatMap((l) => [...l.topics, l.data])].join(" ");
        expect(words.toLowerCase()).to.not.contain(main);
        for (const id of publicIds) expect(words.toLowerCase()).to.not.contain(id);
      }

      // The patient lists everything by name, from the wallet alone.
      const again = await PatientPrivacy.fromWallet(privacy.client);
      const listing = await again.list();
      expect(listing.accounts.map((a) => a.account)).to.include(pseudonym);
      const named = listing.consents.map((c) => [c.account, c.grantee, c.categoryCode, ConsentStatus[c.status]]);
      expect(named).to.deep.include([pseudonym, clinic.address, "laboratory", "Active"]);
      expect(named).to.deep.include([patient.address, emergencyDoctor.address, "mental-health", "Active"]);
      expect(listing.accesses.map((a) => [a.account, a.categoryCode])).to.deep.equal([[pseudonym, "laboratory"]]);
      expect(listing.records.map((r) => [r.account, r.categoryCode, RecordStatus[r.status]])).to.deep.equal([
        [pseudonym, "laboratory", "Active"],
      ]);

      // Revoking everything: one signed revocation per permit, each relayed in its own transaction.
      const revocations = await again.signRevocationsOfEverything({ deadline: (await time.latest()) + DAY });
      expect(revocations.map((r) => [r.request.patient, r.categoryCode])).to.have.deep.members([
        [pseudonym, "laboratory"],
        [patient.address, "mental-health"],
      ]);
      const result = await submitRevocations(relayerClient, revocations);
      expect(result.skipped).to.deep.equal([]);
      expect(new Set(result.submitted.map((s) => s.transaction)).size).to.equal(2);
      expect(await clinicClient.isAuthorized(pseudonym, clinic.address, lab, Purpose.TREAT, Action.ACCESS)).to.equal(
        false,
      );
      const after = await again.list();
      expect(after.consents.every((c) => c.status === ConsentStatus.Revoked)).to.equal(true);
      const pseudonymTx = await clinicClient.provider.getTransaction(
        result.submitted.find((s) => s.signed.request.patient === pseudonym)!.transaction,
      );
      expect(pseudonymTx?.data.toLowerCase()).to.not.contain(main);
    });

    it("lists each record's status from the events alone: active, superseded, retracted", async function () {
      const { privacy, clinic, clinicClient, records } = await loadFixture(privateFixture);
      const now = await time.latest();
      const signed = await privacy.signGrant(
        {
          grantee: clinic.address,
          category: "laboratory",
          purposes: [Purpose.TREAT],
          actions: [Action.ACCESS, Action.COLLECT],
          expiresAt: now + 30 * DAY,
        },
        { deadline: now + DAY, pseudonym: true },
      );
      await clinicClient.submitSignedGrant(signed);
      const relationship = parseRelationship(signed);
      const lab = relationshipCategoryId(relationship, "laboratory");
      const anchor = (text: string, supersedes?: string) =>
        clinicClient.anchor({
          patient: relationship.patient,
          category: lab,
          contentHash: saltRecord(toUtf8Bytes(text), relationship.patient).contentHash,
          uri: "",
          ...(supersedes ? { supersedes } : {}),
        });
      const v1 = await anchor("synthetic report v1");
      const v2 = await anchor("synthetic report v2", v1.recordId);
      const wrong = await anchor("synthetic report of another patient");
      await clinicClient.retract(wrong.recordId, "entered in error");

      const listing = await privacy.list();
      const statuses = Object.fromEntries(listing.records.map((r) => [r.recordId, RecordStatus[r.status]]));
      expect(statuses).to.deep.equal({
        [v1.recordId]: "Superseded",
        [v2.recordId]: "Active",
        [wrong.recordId]: "Retracted",
      });
      for (const r of listing.records) {
        expect(Number((await records.recordOf(r.recordId)).status), r.recordId).to.equal(r.status);
        expect(r.categoryCode).to.equal("laboratory");
      }
    });

    it("revokes everything with the main account's own revokeAll, and the pseudonyms' through the relayer only", async function () {
      const { privacy, patient, patientClient, clinic, clinicClient, relayerClient, emergencyDoctor } =
        await loadFixture(privateFixture);
      const now = await time.latest();
      const terms = { purposes: [Purpose.TREAT], actions: [Action.ACCESS], expiresAt: now + 30 * DAY };
      const pseudonym = privacy.pseudonym(clinic.address).address;
      await clinicClient.submitSignedGrant(
        await privacy.signGrant(
          { ...terms, grantee: clinic.address, category: "laboratory" },
          { deadline: now + DAY, pseudonym: true },
        ),
      );
      await privacy.grant({ ...terms, grantee: emergencyDoctor.address, category: "imaging" });

      await expect(privacy.revokeEverything(patientClient, { deadline: now + DAY })).to.be.rejectedWith(
        /relayer is the patient's main account/,
      );
      const result = await privacy.revokeEverything(relayerClient, { deadline: now + DAY });
      expect(result.main?.from).to.equal(patient.address);
      expect(result.mainPermits.map((c) => [c.grantee, c.categoryCode])).to.deep.equal([
        [emergencyDoctor.address, "imaging"],
      ]);
      expect(result.skipped).to.deep.equal([]);
      expect(result.submitted.map((s) => s.signed.request.patient)).to.deep.equal([pseudonym]);
      const relayed = await clinicClient.provider.getTransaction(result.submitted[0].transaction);
      expect(relayed?.from).to.equal(await relayerClient.address());
      expect(relayed?.data.toLowerCase()).to.not.contain(patient.address.slice(2).toLowerCase());
      const after = await privacy.list();
      expect(after.consents.map((c) => ConsentStatus[c.status])).to.deep.equal(["Revoked", "Revoked"]);
    });

    it("works from a restored backup secret for a wallet that is not deterministic", async function () {
      const { patientClient, clinic } = await loadFixture(privateFixture);
      const secret = createRandomSecret();
      const backup = await exportSecretBackup(secret, "a long passphrase", { N: 2 ** 10 });
      const restored = await restoreSecretBackup(backup, "a long passphrase");
      const patient = await patientClient.address();
      const a = PatientPrivacy.fromSecret(restored, patientClient, patient);
      const b = PatientPrivacy.fromSecret(secret, patientClient, patient);
      expect(a.pseudonym(clinic.address).address).to.equal(b.pseudonym(clinic.address).address);
      expect(await a.categoryId(clinic.address, patient, "imaging")).to.equal(
        await b.categoryId(clinic.address, patient, "imaging"),
      );
      expect(getAddress(patient)).to.equal(patient);
    });
  });
});
