import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Log, Provider } from "ethers";

import { Action, ConsentStatus, Decision, Purpose, categoryId } from "../../src/codes";
import { connect } from "../../src/client";
import { changeActor, getLogsPaged, replayConsents, type HistoryEvent } from "../../src/history";
import { DAY } from "../helpers/fixtures";
import { deploySdk } from "./fixture";

describe("history", function () {
  /** A patient's busy history over many blocks, with another patient's events in between. */
  async function deployWithHistory() {
    const fixture = await deploySdk();
    const { patientClient, clinicClient, erClient, client, patient, clinic, lab, delegate, stranger, emergencyDoctor } =
      fixture;
    const now = await time.latest();
    await patientClient.grant({
      grantee: clinic.address,
      category: "laboratory",
      purposes: [Purpose.TREAT],
      actions: [Action.ACCESS],
      expiresAt: now + 30 * DAY,
    });
    await mine(3);
    await patientClient.grant({
      grantee: lab.address,
      category: "imaging",
      purposes: [Purpose.TREAT, Purpose.HRESCH],
      actions: [Action.COLLECT, Action.USE],
      notBefore: now + 60 * DAY,
      expiresAt: now + 90 * DAY,
    });
    await client(stranger).grant({
      grantee: clinic.address,
      category: "laboratory",
      purposes: [Purpose.TREAT],
      actions: [Action.ACCESS],
      expiresAt: now + 30 * DAY,
    });
    await clinicClient.recordAccess(patient.address, "laboratory", Purpose.TREAT, Action.ACCESS);
    await patientClient.deny(lab.address, "genomics");
    await patientClient.revoke(clinic.address, "laboratory");
    await mine(5);
    await patientClient.grant({
      grantee: clinic.address,
      category: "medications",
      purposes: [Purpose.TREAT],
      actions: [Action.ACCESS],
      expiresAt: (await time.latest()) + DAY,
    });
    await patientClient.setDelegate(delegate.address, now + 365 * DAY);
    await patientClient.removeDelegate(delegate.address);
    await patientClient.setEmergencyAccess(true);
    await erClient.emergencyAccess(patient.address, "trauma");
    await patientClient.closeEmergencyAccess(emergencyDoctor.address);
    await mine(2);
    await patientClient.revokeAll();
    await patientClient.grant({
      grantee: clinic.address,
      category: "*",
      purposes: [Purpose.TREAT, Purpose.CAREMGT],
      actions: [Action.ACCESS],
      expiresAt: now + 400 * DAY,
    });
    await patientClient.grant({
      grantee: lab.address,
      category: "vital-signs",
      purposes: [Purpose.TREAT],
      actions: [Action.ACCESS],
      expiresAt: (await time.latest()) + 2 * DAY,
    });
    await time.increase(3 * DAY);
    await mine(1);
    return fixture;
  }

  describe("consentHistory", function () {
    it("should list the patient's consent events in order, with codes", async function () {
      const { patientClient, patient, clinic, lab, delegate, erClient } = await loadFixture(deployWithHistory);
      const events = await patientClient.consentHistory(patient.address);
      expect(events.map((e) => e.kind)).to.deep.equal([
        "ConsentGranted",
        "ConsentGranted",
        "ConsentDenied",
        "ConsentRevoked",
        "ConsentGranted",
        "DelegateSet",
        "DelegateRemoved",
        "EmergencyAccessSet",
        "AllConsentsRevoked",
        "SignaturesCancelled",
        "ConsentGranted",
        "ConsentGranted",
      ]);
      expect(events.every((e) => e.patient === patient.address)).to.be.true;
      const [first, second, deny] = events;
      expect(first).to.deep.include({
        grantee: clinic.address,
        category: categoryId("laboratory"),
        categoryCode: "laboratory",
        purposes: ["TREAT"],
        purposeMask: 1,
        actions: ["access"],
        actionMask: 2,
      });
      expect(second).to.deep.include({
        purposes: ["TREAT", "HRESCH"],
        actions: ["collect", "use"],
        categoryCode: "imaging",
      });
      expect(deny).to.deep.include({ kind: "ConsentDenied", grantee: lab.address, categoryCode: "genomics" });
      expect(events[5]).to.deep.include({ kind: "DelegateSet", delegate: delegate.address });
      expect(events[7]).to.deep.include({
        kind: "EmergencyAccessSet",
        allowed: true,
        by: patient.address,
        actor: "patient",
      });
      expect(events[8]).to.deep.include({ kind: "AllConsentsRevoked", epoch: 1, by: patient.address });
      expect(events[9]).to.deep.include({ kind: "SignaturesCancelled", signatureEpoch: 1, actor: "patient" });
      expect(events[10]).to.deep.include({ categoryCode: "*" });
      expect(first).to.deep.include({ by: patient.address, actor: "patient", signed: false });
      expect(await erClient.consentHistory(clinic.address)).to.deep.equal([]);
    });

    it("should give each event its block, transaction, log index and block time", async function () {
      const { patientClient, patient } = await loadFixture(deployWithHistory);
      const events = await patientClient.consentHistory(patient.address);
      for (const event of events) {
        const block = await ethers.provider.getBlock(event.blockNumber);
        expect(event.timestamp).to.equal(block?.timestamp);
        const receipt = await ethers.provider.getTransactionReceipt(event.txHash);
        expect(receipt?.blockNumber).to.equal(event.blockNumber);
        expect(receipt?.logs.map((log) => log.index)).to.include(event.logIndex);
      }
    });

    it("should give the same events when paged by 2 or 3 blocks as in one range", async function () {
      const { patientClient, patient } = await loadFixture(deployWithHistory);
      const whole = await patientClient.consentHistory(patient.address, { step: 1_000_000 });
      expect(whole).to.have.length(12);
      expect(await patientClient.consentHistory(patient.address, { step: 2 })).to.deep.equal(whole);
      expect(await patientClient.consentHistory(patient.address, { step: 3 })).to.deep.equal(whole);
      expect(await patientClient.consentHistory(patient.address)).to.deep.equal(whole);
    });

    it("should read only the blocks asked for", async function () {
      const { patientClient, patient } = await loadFixture(deployWithHistory);
      const whole = await patientClient.consentHistory(patient.address);
      const from = whole[2].blockNumber;
      const to = whole[6].blockNumber;
      const part = await patientClient.consentHistory(patient.address, { fromBlock: from, toBlock: to, step: 2 });
      expect(part).to.deep.equal(whole.slice(2, 7));
      expect(await patientClient.consentHistory(patient.address, { fromBlock: to + 1, toBlock: to })).to.deep.equal([]);
    });

    it("should start at the deployment block by default", async function () {
      const { patient, deployment } = await loadFixture(deployWithHistory);
      const latest = await ethers.provider.getBlockNumber();
      const late = connect(patient, { ...deployment, deploymentBlock: latest + 1 });
      expect(await late.consentHistory(patient.address)).to.deep.equal([]);
    });

    it("should refuse an invalid step or block", async function () {
      const { patientClient, patient } = await loadFixture(deployWithHistory);
      for (const options of [{ step: 0 }, { step: 1.5 }, { fromBlock: -1 }]) {
        let message = "";
        try {
          await patientClient.consentHistory(patient.address, options);
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message, JSON.stringify(options)).to.match(/^Invalid (history step|fromBlock)/);
      }
    });
  });

  describe("who acted", function () {
    it("should attribute each consent change to the patient, a delegate or a relayer", async function () {
      const { patientClient, relayerClient, client, patient, clinic, lab, delegate, relayer } =
        await loadFixture(deploySdk);
      const expiresAt = (await time.latest()) + 30 * DAY;
      const params = { purposes: [Purpose.TREAT], actions: [Action.ACCESS], expiresAt };
      await patientClient.setDelegate(delegate.address, expiresAt);
      const guardian = client(delegate);
      await guardian.grantFor(patient.address, { grantee: clinic.address, category: "laboratory", ...params });
      const signed = await patientClient.signGrant(
        { grantee: lab.address, category: "imaging", ...params },
        { deadline: expiresAt },
      );
      await relayerClient.submitSignedGrant(signed);
      const own = await patientClient.signGrant(
        { grantee: lab.address, category: "genomics", ...params },
        { deadline: expiresAt },
      );
      await patientClient.submitSignedGrant(own);
      const revoke = await patientClient.signRevoke(
        { grantee: lab.address, category: "imaging" },
        { deadline: expiresAt },
      );
      await relayerClient.submitSignedRevoke(revoke);
      await guardian.denyFor(patient.address, lab.address, "mental-health");
      await guardian.revokeFor(patient.address, clinic.address, "laboratory");
      await guardian.cancelSignaturesFor(patient.address);
      await guardian.revokeAllFor(patient.address);
      await guardian.setEmergencyAccessFor(patient.address, false);

      const events = await patientClient.consentHistory(patient.address);
      const acted = events
        .filter((e) => e.kind !== "DelegateSet" && e.kind !== "DelegateRemoved")
        .map((e) => [e.kind, "by" in e ? e.by : undefined, "actor" in e ? e.actor : undefined]);
      expect(acted).to.deep.equal([
        ["ConsentGranted", delegate.address, "delegate"],
        ["ConsentGranted", relayer.address, "relayer"],
        ["ConsentGranted", patient.address, "patient"],
        ["ConsentRevoked", relayer.address, "relayer"],
        ["ConsentDenied", delegate.address, "delegate"],
        ["ConsentRevoked", delegate.address, "delegate"],
        ["SignaturesCancelled", delegate.address, "delegate"],
        ["AllConsentsRevoked", delegate.address, "delegate"],
        ["SignaturesCancelled", delegate.address, "delegate"],
        ["EmergencyAccessSet", delegate.address, "delegate"],
      ]);
      const signedFlags = events.flatMap((e) =>
        e.kind === "ConsentGranted" || e.kind === "ConsentRevoked" ? [e.signed] : [],
      );
      expect(signedFlags).to.deep.equal([false, true, true, true, false]);
    });

    it("should name the role from the patient, the sender and whether it was signed", function () {
      const patient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
      const other = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
      expect(changeActor(patient, patient.toLowerCase())).to.equal("patient");
      expect(changeActor(patient, other)).to.equal("delegate");
      expect(changeActor(patient, other, true)).to.equal("relayer");
      expect(changeActor(patient, patient, true)).to.equal("patient");
    });

    it("should rebuild each key's sequence, as consentOf and signatureNonce read it", async function () {
      const { patientClient, patient, clinic } = await loadFixture(deployWithHistory);
      const current = await patientClient.currentConsents(patient.address);
      for (const entry of current) {
        const { sequence } = await patientClient.signatureNonce(patient.address, entry.grantee, entry.category);
        expect(BigInt(entry.consent.sequence), entry.categoryCode).to.equal(sequence);
      }
      const laboratory = current.find((c) => c.grantee === clinic.address && c.categoryCode === "laboratory");
      expect(laboratory?.consent.sequence).to.equal(2); // granted, then revoked
    });
  });

  describe("accessHistory", function () {
    it("should list recorded accesses and break-glass windows", async function () {
      const { patientClient, patient, clinic, emergencyDoctor } = await loadFixture(deployWithHistory);
      const events = await patientClient.accessHistory(patient.address, { step: 2 });
      expect(events.map((e) => e.kind)).to.deep.equal([
        "AccessRecorded",
        "EmergencyAccessOpened",
        "EmergencyAccessClosed",
      ]);
      expect(events[0]).to.deep.include({
        grantee: clinic.address,
        categoryCode: "laboratory",
        purpose: "TREAT",
        action: "access",
        recordId: ethers.ZeroHash,
      });
      expect(events[1]).to.deep.include({ provider: emergencyDoctor.address, reasonHash: ethers.id("trauma") });
      expect(events[2]).to.deep.include({ provider: emergencyDoctor.address, by: patient.address, actor: "patient" });
      expect(await patientClient.accessHistory(patient.address)).to.deep.equal(events);
    });
  });

  describe("currentConsents", function () {
    it("should rebuild from the events exactly what consentOf returns for every key", async function () {
      const { patientClient, patient } = await loadFixture(deployWithHistory);
      const current = await patientClient.currentConsents(patient.address, { step: 2 });
      expect(current).to.have.length(6);
      for (const entry of current) {
        const onChain = await patientClient.consentOf(patient.address, entry.grantee, entry.category);
        expect(entry.consent, entry.categoryCode).to.deep.equal(onChain.consent);
        expect(entry.status, entry.categoryCode).to.equal(onChain.status);
      }
      const statuses = Object.fromEntries(current.map((c) => [c.categoryCode, c.status]));
      expect(statuses).to.deep.equal({
        laboratory: ConsentStatus.Revoked, // revoked singly
        imaging: ConsentStatus.Revoked, // pending, then ended by revokeAll
        genomics: ConsentStatus.Denied, // denies survive revokeAll
        medications: ConsentStatus.Revoked, // ended by revokeAll
        "*": ConsentStatus.Active, // granted after revokeAll
        "vital-signs": ConsentStatus.Expired,
      });
    });

    it("should replay single revocations, denies and epochs", function () {
      const origin = { txHash: "0x", timestamp: 100, patient: ethers.ZeroAddress };
      const grantee = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
      const category = categoryId("laboratory");
      const grant: HistoryEvent = {
        ...origin,
        blockNumber: 1,
        logIndex: 0,
        kind: "ConsentGranted",
        grantee,
        category,
        purposeMask: 1,
        purposes: ["TREAT"],
        actionMask: 2,
        actions: ["access"],
        notBefore: 100,
        expiresAt: 200,
        by: grantee,
        actor: "relayer",
        signed: true,
      };
      expect(replayConsents([grant], 150)[0].status).to.equal(ConsentStatus.Active);
      expect(replayConsents([grant], 150)[0].consent.sequence).to.equal(1);
      expect(replayConsents([grant], 99)[0].status).to.equal(ConsentStatus.Pending);
      expect(replayConsents([grant], 200)[0].status).to.equal(ConsentStatus.Expired);
      const revokeAll: HistoryEvent = {
        ...origin,
        blockNumber: 2,
        logIndex: 0,
        kind: "AllConsentsRevoked",
        epoch: 1,
        by: ethers.ZeroAddress,
        actor: "patient",
      };
      expect(replayConsents([revokeAll, grant], 150)[0].status).to.equal(ConsentStatus.Revoked);
      const regrant = { ...grant, blockNumber: 3 };
      expect(replayConsents([grant, revokeAll, regrant], 150)[0].consent.epoch).to.equal(1);
      expect(replayConsents([grant, revokeAll, regrant], 150)[0].status).to.equal(ConsentStatus.Active);
      expect(replayConsents([grant, revokeAll, regrant], 150)[0].consent.sequence).to.equal(2);
      const revoke: HistoryEvent = {
        ...origin,
        blockNumber: 4,
        logIndex: 0,
        kind: "ConsentRevoked",
        grantee,
        category,
        by: ethers.ZeroAddress,
        actor: "patient",
        signed: false,
      };
      expect(replayConsents([grant, regrant, revoke], 150)[0].consent).to.deep.include({
        decision: Decision.Revoked,
        sequence: 3,
      });
    });
  });

  describe("getLogsPaged", function () {
    it("should split a range the node refuses as too large", async function () {
      const requested: [number, number][] = [];
      const stub = {
        async getLogs(filter: { fromBlock: number; toBlock: number }): Promise<Log[]> {
          if (filter.toBlock - filter.fromBlock + 1 > 3) throw new Error("block range is too large (max 3)");
          requested.push([filter.fromBlock, filter.toBlock]);
          return [{ blockNumber: filter.fromBlock } as Log];
        },
      } as unknown as Provider;
      const logs = await getLogsPaged(stub, { address: ethers.ZeroAddress, topics: [] }, 0, 9, 10);
      expect(requested).to.deep.equal([
        [0, 2],
        [3, 4],
        [5, 7],
        [8, 9],
      ]);
      expect(logs.map((log) => log.blockNumber)).to.deep.equal([0, 3, 5, 8]);
    });

    it("should not hide other errors", async function () {
      const stub = {
        async getLogs(): Promise<Log[]> {
          throw new Error("connection refused");
        },
      } as unknown as Provider;
      let message = "";
      try {
        await getLogsPaged(stub, { address: ethers.ZeroAddress, topics: [] }, 0, 9, 5);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).to.equal("connection refused");
    });
  });
});
