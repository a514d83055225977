/**
 * The privacy:* tasks (tasks/privacy.ts), in-process on Hardhat's chain: a patient signs a private consent as a
 * pseudonym and grants another directly, the clinic submits, checks, records and anchors with its relationship key,
 * anyone verifies with the salt, the patient lists by name and revokes everything through a relayer.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { toUtf8Bytes } from "ethers";

import { Capability } from "../../src/codes";
import { connect } from "../../src/client";
import { deployForTasks, jsonOf, runTask, temporaryDir, type TaskResult } from "../cli/cli-harness";

function ok(result: TaskResult): Record<string, unknown> {
  expect(result.code, result.stderr).to.equal(0);
  return jsonOf(result);
}

describe("Privacy mode: the privacy:* tasks", function () {
  it("runs the private story from the command line", async function () {
    const { deployment } = await deployForTasks();
    const [registrar, patient, clinic, other] = await hre.ethers.getSigners();
    await connect(registrar, deployment).registerProvider(clinic.address, "npi:cli-privacy", Capability.TREATMENT);
    await connect(registrar, deployment).registerProvider(other.address, "npi:cli-privacy-2", Capability.TREATMENT);
    const dir = temporaryDir("privacy-cli");
    const file = (name: string) => path.join(dir, name);
    const grant = {
      grantee: clinic.address,
      purposes: "TREAT",
      actions: "access,collect",
      duration: "30d",
      json: true,
    };

    const signed = ok(
      await runTask("privacy:sign", {
        ...grant,
        from: "1",
        category: "laboratory",
        pseudonym: true,
        out: file("a.json"),
      }),
    );
    const pseudonym = signed.patient as string;
    expect(pseudonym).to.not.equal(patient.address);
    expect((signed.terms as { category: string }).category).to.equal("laboratory");

    // A file whose terms were edited is refused before anything is sent.
    const edited = JSON.parse(fs.readFileSync(file("a.json"), "utf8")) as { terms: { category: string } };
    edited.terms.category = "imaging";
    fs.writeFileSync(file("edited.json"), JSON.stringify(edited));
    const refused = await runTask("privacy:submit", { from: "2", file: file("edited.json"), json: true });
    expect(refused.code).to.equal(1);
    const forged = { ...JSON.parse(fs.readFileSync(file("a.json"), "utf8")), categoryCode: "imaging" };
    fs.writeFileSync(file("forged.json"), JSON.stringify(forged));
    expect((await runTask("privacy:submit", { from: "2", file: file("forged.json"), json: true })).code).to.equal(1);

    expect(ok(await runTask("privacy:submit", { from: "2", file: file("a.json"), json: true })).submitted).to.equal(
      true,
    );
    const check = { relationship: file("a.json"), purpose: "TREAT", action: "access", json: true };
    expect(ok(await runTask("privacy:check", { ...check, category: "laboratory" })).authorised).to.equal(true);
    expect(ok(await runTask("privacy:check", { ...check, category: "imaging" })).authorised).to.equal(false);
    ok(await runTask("privacy:record-access", { ...check, from: "2", category: "laboratory" }));

    fs.writeFileSync(file("report.txt"), toUtf8Bytes("synthetic report for the CLI"));
    const anchored = ok(
      await runTask("privacy:anchor", {
        from: "2",
        relationship: file("a.json"),
        category: "laboratory",
        file: file("report.txt"),
        saltOut: file("report.salt.json"),
        encryptedOut: file("report.ecies"),
        json: true,
      }),
    );
    expect(anchored.uri as string).to.match(/^ipfs:\/\/bafk/);
    expect(fs.statSync(file("report.ecies")).size).to.be.greaterThan(fs.statSync(file("report.txt")).size);
    const verified = ok(
      await runTask("privacy:verify", { file: file("report.txt"), salt: file("report.salt.json"), json: true }),
    );
    expect(verified.verified).to.equal(true);
    const plain = ok(await runTask("record:verify", { file: file("report.txt"), patient: pseudonym, json: true }));
    expect(plain.verified).to.equal(false);

    ok(
      await runTask("privacy:grant", {
        ...grant,
        from: "1",
        grantee: other.address,
        category: "imaging",
        out: file("r.json"),
      }),
    );
    const receiptCheck = {
      relationship: file("r.json"),
      category: "imaging",
      purpose: "TREAT",
      action: "access",
      json: true,
    };
    expect(ok(await runTask("privacy:check", receiptCheck)).authorised).to.equal(true);

    const listing = ok(await runTask("privacy:list", { from: "1", json: true }));
    const consents = (listing.consents as { account: string; categoryCode: string; status: string }[]).map((c) => [
      c.account,
      c.categoryCode,
      c.status,
    ]);
    expect(consents).to.have.deep.members([
      [pseudonym, "laboratory", "Active"],
      [patient.address, "imaging", "Active"],
    ]);
    expect((listing.records as { categoryCode: string }[]).map((r) => r.categoryCode)).to.deep.equal(["laboratory"]);

    const self = await runTask("privacy:revoke-all", { from: "1", relayer: "1", json: true });
    expect(self.code).to.equal(1);
    expect(self.stderr).to.match(/--relayer is the patient.s own account/);
    const revoked = ok(await runTask("privacy:revoke-all", { from: "1", relayer: "4", json: true }));
    const transactions = revoked.revoked as { patient: string; transaction: string }[];
    expect(transactions.map((r) => r.patient)).to.have.members([pseudonym, patient.address]);
    // The main account ends its own permits (one revokeAll it sends); the relayer only ever names the pseudonym.
    const [relayer] = (await hre.ethers.getSigners()).slice(4);
    for (const r of transactions) {
      const tx = await hre.ethers.provider.getTransaction(r.transaction);
      expect(tx?.from).to.equal(r.patient === pseudonym ? relayer.address : patient.address);
    }
    expect(ok(await runTask("privacy:check", { ...check, category: "laboratory" })).authorised).to.equal(false);
    expect(ok(await runTask("privacy:check", receiptCheck)).authorised).to.equal(false);
  });

  it("keeps a random secret in an encrypted backup and uses it", async function () {
    await deployForTasks();
    const dir = temporaryDir("privacy-backup");
    const backup = path.join(dir, "secret.json");
    const previous = process.env.CONSENT_PRIVACY_PASSPHRASE;
    try {
      delete process.env.CONSENT_PRIVACY_PASSPHRASE;
      expect((await runTask("privacy:backup", { out: backup, json: true })).code).to.equal(1);
      process.env.CONSENT_PRIVACY_PASSPHRASE = "a long test passphrase";
      ok(await runTask("privacy:backup", { out: backup, json: true }));
      expect((await runTask("privacy:backup", { out: backup, json: true })).code).to.equal(1); // kept without --force
      const one = ok(await runTask("privacy:pseudonyms", { from: "1", secretBackup: backup, json: true }));
      const two = ok(await runTask("privacy:pseudonyms", { from: "1", json: true }));
      expect((one.accounts as unknown[])[0]).to.deep.equal((two.accounts as unknown[])[0]);
      process.env.CONSENT_PRIVACY_PASSPHRASE = "not the passphrase";
      const wrong = await runTask("privacy:pseudonyms", { from: "1", secretBackup: backup, json: true });
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr).to.match(/wrong passphrase/);
    } finally {
      if (previous === undefined) delete process.env.CONSENT_PRIVACY_PASSPHRASE;
      else process.env.CONSENT_PRIVACY_PASSPHRASE = previous;
    }
  });
});
