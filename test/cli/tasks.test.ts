/**
 * The command line, run in-process as a user runs it: nothing paid is lost, refusals cost nothing, every role can
 * act, every task speaks JSON, signed files are readable and checked, input is strict, and the network is told.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";

import type { Deployment } from "../../src/deployment";
import { inOptionTerms } from "../../tasks/cli";
import { chainState, deployForTasks, jsonOf, runTask, temporaryDir } from "./cli-harness";

describe("Command-line tasks", function () {
  let deployment: Deployment;
  let deploymentsDir: string;
  let patient: string;
  let clinic: string;
  let er: string;
  let delegate: string;
  let newKey: string;
  let stranger: string;
  let work: string;

  const grantArgs = (extra: Record<string, unknown> = {}) => ({
    from: "1",
    grantee: clinic,
    category: "laboratory",
    purposes: "TREAT",
    actions: "access",
    duration: "30d",
    ...extra,
  });

  before(async function () {
    ({ deployment, dir: deploymentsDir } = await deployForTasks());
    const signers = await hre.ethers.getSigners();
    [patient, clinic, er, delegate, newKey, stranger] = signers.slice(1, 7).map((s) => s.address);
    work = temporaryDir("cli-work");
    const register = async (provider: string, identifier: string, capabilities: string) =>
      expect((await runTask("provider:register", { provider, identifier, capabilities })).code).to.equal(0);
    await register(clinic, "npi:1234567893", "treatment");
    await register(er, "npi:1245319599", "treatment,emergency");
    const set = await runTask("delegate:set", { from: "1", delegate, duration: "90d" });
    expect(set.code, set.stderr).to.equal(0);
  });

  context("the network", function () {
    it("should say how to start a node and which flag to add when no deployment exists for the in-process chain", async function () {
      process.env.DEPLOYMENTS_DIR = temporaryDir("cli-empty");
      try {
        const result = await runTask("consent:check", {
          patient,
          grantee: clinic,
          category: "laboratory",
          purpose: "TREAT",
          action: "access",
        });
        expect(result.code).to.equal(1);
        expect(result.stderr.split("\n")).to.have.lengthOf(1);
        expect(result.stderr).to.include("npx hardhat node").and.include("--network localhost");
      } finally {
        process.env.DEPLOYMENTS_DIR = deploymentsDir;
      }
    });
  });

  context("record:batch and record:proofs", function () {
    let reports: string;

    before(function () {
      reports = path.join(work, "reports");
      fs.mkdirSync(reports);
      for (const name of ["r1.txt", "r2.txt", "r3.txt"]) fs.writeFileSync(path.join(reports, name), `report ${name}`);
    });

    it("should send nothing when --out cannot be written", async function () {
      const before = await chainState(clinic);
      const result = await runTask("record:batch", {
        from: "2",
        dir: reports,
        patient,
        category: "laboratory",
        out: path.join(work, "no-such-folder", "proofs.json"),
      });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/^Error: --out .*does not exist/);
      expect(await chainState(clinic)).to.deep.equal(before);
    });

    it("should keep an existing proofs file and send nothing without --force", async function () {
      const out = path.join(work, "existing.proofs.json");
      fs.writeFileSync(out, "keep me");
      const before = await chainState(clinic);
      const result = await runTask("record:batch", { from: "2", dir: reports, patient, category: "laboratory", out });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include("already exists: add --force");
      expect(fs.readFileSync(out, "utf8")).to.equal("keep me");
      expect(await chainState(clinic)).to.deep.equal(before);
    });

    it("should write the proofs, print the hex batch id and transaction, and let record:proofs rebuild them", async function () {
      const out = path.join(work, "reports.proofs.json");
      const result = await runTask("record:batch", {
        from: "2",
        dir: reports,
        patient,
        category: "laboratory",
        out,
        json: true,
      });
      expect(result.code, result.stderr).to.equal(0);
      const printed = jsonOf(result);
      expect(printed.ok).to.equal(true);
      expect(printed.batchId).to.match(/^0x[0-9a-f]{64}$/);
      expect(printed.transaction).to.match(/^0x[0-9a-f]{64}$/);
      const written = JSON.parse(fs.readFileSync(out, "utf8")) as Record<string, unknown>;
      expect(written).to.include({ batchId: printed.batchId, status: "anchored", txHash: printed.transaction });

      const again = await runTask("record:batch", {
        from: "2",
        dir: reports,
        patient,
        category: "laboratory",
        out: path.join(work, "again.json"),
      });
      expect(again.code).to.equal(1);
      expect(again.stderr).to.include("already anchored").and.include("record:proofs");

      const rebuilt = path.join(work, "rebuilt.proofs.json");
      const proofs = await runTask("record:proofs", {
        dir: reports,
        patient,
        category: "laboratory",
        submitter: clinic,
        out: rebuilt,
      });
      expect(proofs.code, proofs.stderr).to.equal(0);
      const rebuiltFile = JSON.parse(fs.readFileSync(rebuilt, "utf8")) as Record<string, unknown>;
      expect(rebuiltFile.items).to.deep.equal(written.items);
      expect(rebuiltFile).to.include({ batchId: written.batchId, txHash: written.txHash });

      const verify = await runTask("record:verify", { proofs: rebuilt, item: "r2.txt", json: true, exitCode: true });
      expect(verify.code, verify.stderr).to.equal(0);
      expect(jsonOf(verify)).to.include({ verified: true, item: "r2.txt", submitterIsActiveProvider: true });
    });

    it("should answer no with exit code 1 for a file that is no item of the batch", async function () {
      const stray = path.join(work, "stray.txt");
      fs.writeFileSync(stray, "not in the batch");
      const verify = await runTask("record:verify", {
        proofs: path.join(work, "reports.proofs.json"),
        file: stray,
        exitCode: true,
      });
      expect(verify.code).to.equal(1);
      expect(verify.stdout).to.match(/^in batch: no/);
    });
  });

  context("access:export", function () {
    it("should keep an existing --out without --force and replace it with --force", async function () {
      const out = path.join(work, "audit.json");
      fs.writeFileSync(out, "keep me");
      const kept = await runTask("access:export", { patient, out });
      expect(kept.code).to.equal(1);
      expect(kept.stderr).to.include("already exists: add --force");
      expect(fs.readFileSync(out, "utf8")).to.equal("keep me");
      const replaced = await runTask("access:export", { patient, out, force: true, json: true });
      expect(replaced.code, replaced.stderr).to.equal(0);
      expect(jsonOf(replaced)).to.include({ ok: true, file: out });
      expect(JSON.parse(fs.readFileSync(out, "utf8"))).to.include({ resourceType: "Bundle" });
    });
  });

  context("refusals", function () {
    it("should report the decoded custom error and mine nothing", async function () {
      const before = await chainState(stranger);
      const result = await runTask("consent:grant", grantArgs({ from: "6", patient }));
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal(
        `Error: ${stranger} is not a delegate of patient ${patient} whose term is running.`,
      );
      expect(await chainState(stranger)).to.deep.equal(before);
    });
  });

  context("every role", function () {
    it("should let a delegate grant, deny and revoke for the patient with --patient", async function () {
      const granted = await runTask("consent:grant", grantArgs({ from: "4", patient, category: "imaging" }));
      expect(granted.code, granted.stderr).to.equal(0);
      expect(granted.stdout).to.include(`Delegate ${delegate}, for patient ${patient}, granted`);
      const denied = await runTask("consent:deny", { from: "4", patient, grantee: stranger, category: "genomics" });
      expect(denied.code, denied.stderr).to.equal(0);
      const revoked = await runTask("consent:revoke", { from: "4", patient, grantee: clinic, category: "imaging" });
      expect(revoked.code, revoked.stderr).to.equal(0);
      const history = jsonOf(await runTask("consent:history", { patient, json: true }));
      const actors = (history.events as { kind: string; actor?: string }[])
        .filter((e) => ["ConsentGranted", "ConsentDenied", "ConsentRevoked"].includes(e.kind))
        .map((e) => e.actor);
      expect(actors).to.deep.equal(["delegate", "delegate", "delegate"]);
    });

    it("should let a delegate allow break-glass access, and the emergency provider open a window", async function () {
      const allowed = await runTask("emergency:set", { from: "4", patient, allowed: "yes", json: true });
      expect(allowed.code, allowed.stderr).to.equal(0);
      expect(jsonOf(allowed)).to.include({ allowed: true, patient, by: delegate });
      const opened = await runTask("emergency:open", { from: "3", patient, reason: "unconscious" });
      expect(opened.code, opened.stderr).to.equal(0);
      const check = jsonOf(
        await runTask("consent:check", {
          patient,
          grantee: er,
          category: "laboratory",
          purpose: "ETREAT",
          action: "access",
          json: true,
        }),
      );
      expect(check).to.include({ authorised: true, reason: "break-glass" });
      expect(check.explanation).to.match(/^a break-glass window until \d{4}-/);
    });

    it("should let the registrar suspend and reinstate a provider, and consent:check name the suspension", async function () {
      expect((await runTask("consent:grant", grantArgs())).code).to.equal(0);
      const query = { patient, grantee: clinic, category: "laboratory", purpose: "TREAT", action: "access" };
      expect((await runTask("provider:suspend", { provider: clinic, reason: "licence lapsed" })).code).to.equal(0);
      const suspended = await runTask("consent:check", { ...query, json: true, exitCode: true });
      expect(suspended.code).to.equal(1);
      expect(jsonOf(suspended)).to.include({ authorised: false, reason: "suspended-provider" });
      const reinstated = await runTask("provider:reinstate", { provider: clinic });
      expect(reinstated.code, reinstated.stderr).to.equal(0);
      const check = await runTask("consent:check", { ...query, json: true, exitCode: true });
      expect(check.code).to.equal(0);
      expect(jsonOf(check)).to.include({ authorised: true, reason: "consent" });
    });

    it("should rotate a provider's key in two steps", async function () {
      const proposed = await runTask("provider:rotate-key", { from: "3", newKey });
      expect(proposed.code, proposed.stderr).to.equal(0);
      const accepted = await runTask("provider:accept-key", { from: "5", provider: er, json: true });
      expect(accepted.code, accepted.stderr).to.equal(0);
      expect(jsonOf(accepted)).to.include({ providerId: er, key: newKey, retired: er });
    });
  });

  context("consent:check reasons", function () {
    const query = () => ({ patient, grantee: clinic, purpose: "TREAT", action: "access", json: true });

    it("should name a deny, a revocation and an expiry", async function () {
      expect((await runTask("consent:deny", { from: "1", grantee: clinic, category: "mental-health" })).code).to.equal(
        0,
      );
      expect(jsonOf(await runTask("consent:check", { ...query(), category: "mental-health" }))).to.include({
        reason: "denied",
      });
      expect((await runTask("consent:grant", grantArgs({ category: "procedures", duration: "1h" }))).code).to.equal(0);
      await time.increase(2 * 60 * 60);
      expect(jsonOf(await runTask("consent:check", { ...query(), category: "procedures" }))).to.include({
        reason: "expired",
      });
      expect((await runTask("consent:grant", grantArgs({ category: "vital-signs" }))).code).to.equal(0);
      expect((await runTask("consent:revoke", { from: "1", grantee: clinic, category: "vital-signs" })).code).to.equal(
        0,
      );
      expect(jsonOf(await runTask("consent:check", { ...query(), category: "vital-signs" }))).to.include({
        reason: "revoked",
      });
    });

    it("should make record:verify exit 1 for a file not anchored only with --exit-code", async function () {
      const file = path.join(work, "unanchored.txt");
      fs.writeFileSync(file, "never anchored");
      expect((await runTask("record:verify", { file, patient })).code).to.equal(0);
      const strict = await runTask("record:verify", { file, patient, exitCode: true, json: true });
      expect(strict.code).to.equal(1);
      expect(jsonOf(strict)).to.include({ ok: true, verified: false });
    });
  });

  context("signed files", function () {
    it("should write the human terms, show them on a dry run without sending, and submit them", async function () {
      const out = path.join(work, "signed.json");
      const signed = await runTask(
        "consent:sign",
        grantArgs({ category: "imaging", out, duration: undefined, expires: "2099-02-01" }),
      );
      expect(signed.code, signed.stderr).to.equal(0);
      const file = JSON.parse(fs.readFileSync(out, "utf8")) as { terms: Record<string, unknown> };
      expect(file.terms).to.deep.include({
        kind: "grant",
        grantee: clinic,
        category: "imaging",
        purposes: ["TREAT"],
        actions: ["access"],
        from: "when submitted",
        until: "2099-02-01T00:00:00Z",
      });

      const before = await chainState(delegate);
      const dry = await runTask("consent:submit", { from: "4", file: out, dryRun: true });
      expect(dry.code, dry.stderr).to.equal(0);
      expect(dry.stdout).to.include("category       imaging").and.include("Dry run: nothing sent");
      expect(await chainState(delegate)).to.deep.equal(before);

      const again = await runTask("consent:sign", grantArgs({ category: "imaging", out }));
      expect(again.code).to.equal(1);
      expect(again.stderr).to.include("already exists: add --force");

      const submitted = await runTask("consent:submit", { from: "4", file: out, json: true });
      expect(submitted.code, submitted.stderr).to.equal(0);
      expect(jsonOf(submitted)).to.include({ submitted: true, relayer: delegate });
    });

    it("should report an edited file as a signature that does not match its terms, and send nothing", async function () {
      const out = path.join(work, "tampered.json");
      expect((await runTask("consent:sign", grantArgs({ category: "genomics", out }))).code).to.equal(0);
      const file = JSON.parse(fs.readFileSync(out, "utf8")) as { request: { actions: number } };
      file.request.actions = 31;
      fs.writeFileSync(out, JSON.stringify(file));
      const before = await chainState(delegate);
      const result = await runTask("consent:submit", { from: "4", file: out });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include("the signature does not match these terms (edited or corrupted)");
      expect(await chainState(delegate)).to.deep.equal(before);
    });

    it("should submit grants signed for several grantees in any order", async function () {
      const first = path.join(work, "first.json");
      const second = path.join(work, "second.json");
      expect((await runTask("consent:sign", grantArgs({ category: "allergies", out: first }))).code).to.equal(0);
      const other = grantArgs({ category: "allergies", grantee: stranger, out: second });
      expect((await runTask("consent:sign", other)).code).to.equal(0);
      expect((await runTask("consent:submit", { from: "4", file: second })).code).to.equal(0);
      const late = await runTask("consent:submit", { from: "4", file: first });
      expect(late.code, late.stderr).to.equal(0);
    });
  });

  context("strict input", function () {
    it("should refuse 01/02/2027 with a hint naming --expires", async function () {
      const result = await runTask("consent:grant", grantArgs({ duration: undefined, expires: "01/02/2027" }));
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include(`--expires "01/02/2027" is ambiguous`).and.include("2027-02-01");
    });

    it("should accept an ISO 8601 time with a zone and refuse one without", async function () {
      const ok = await runTask(
        "consent:grant",
        grantArgs({ duration: undefined, expires: "2098-02-01T09:00Z", json: true }),
      );
      expect(ok.code, ok.stderr).to.equal(0);
      expect(jsonOf(ok).expiresAt).to.equal(Date.UTC(2098, 1, 1, 9) / 1000);
      const local = await runTask("delegate:set", { from: "1", delegate, expires: "2098-02-01T09:00" });
      expect(local.stderr).to.include(`--expires "2098-02-01T09:00" has no time zone`);
    });

    it("should name the option, not the SDK's field, in an error that comes from the SDK", function () {
      expect(inOptionTerms("Invalid expiresAt 99: expected unix seconds")).to.equal(
        "Invalid --expires 99: expected unix seconds",
      );
      expect(inOptionTerms("notBefore must be before expiresAt")).to.equal("--not-before must be before --expires");
    });

    it("should cap durations at 100 years", async function () {
      const result = await runTask("delegate:set", { from: "1", delegate, duration: "5300w" });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal("Error: --duration 5300w is longer than 100 years: give a shorter duration");
    });
  });

  after(function () {
    expect(deployment.network).to.equal("hardhat");
  });
});
