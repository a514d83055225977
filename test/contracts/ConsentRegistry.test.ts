/**
 * Specification of ConsentRegistry's core: grant, revoke, deny, revokeAll, the checks (isAuthorized,
 * isAuthorizedForAny, consentOf, epochOf), delegates, and Multicall batching. Signed consents are specified in
 * ConsentRegistry.signatures.test.ts; the provider registry, break-glass access and the access trail elsewhere.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setStorageAt, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import type { ConsentRegistry } from "../../typechain-types";
import {
  Action,
  actionMask,
  ALL_ACTIONS,
  ALL_PURPOSES,
  ANY_CATEGORY,
  categoryId,
  ConsentStatus,
  Decision,
  Purpose,
  purposeMask,
} from "../../src/codes";
import { DAY, deployRegistries } from "../helpers/fixtures";
import { consentView, statusOf } from "../helpers/consents";

const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");
const MENTAL_HEALTH = categoryId("mental-health");

/** The permit most tests start from: treatment and care management, access and use. */
const PURPOSES = purposeMask(Purpose.TREAT, Purpose.CAREMGT);
const ACTIONS = actionMask(Action.ACCESS, Action.USE);

const PURPOSE_VALUES = Object.values(Purpose).filter((v): v is Purpose => typeof v === "number");
const ACTION_VALUES = Object.values(Action).filter((v): v is Action => typeof v === "number");

/** {deployRegistries}, with `patient` having permitted `clinic` PURPOSES/ACTIONS on LAB from `start` for 30 days. */
async function deployWithLabPermit() {
  const fixture = await deployRegistries();
  const start = (await time.latest()) + 10;
  const expiresAt = start + 30 * DAY;
  await time.setNextBlockTimestamp(start);
  await fixture.consents.connect(fixture.patient).grant(fixture.clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
  return { ...fixture, start, expiresAt };
}

/** {deployRegistries}, with `delegate` appointed by `patient` for 7 days from `appointedAt`. */
async function deployWithDelegate() {
  const fixture = await deployRegistries();
  const appointedAt = (await time.latest()) + 10;
  const delegateExpiresAt = appointedAt + 7 * DAY;
  await time.setNextBlockTimestamp(appointedAt);
  await fixture.consents.connect(fixture.patient).setDelegate(fixture.delegate.address, delegateExpiresAt);
  return { ...fixture, appointedAt, delegateExpiresAt };
}

describe("ConsentRegistry", function () {
  describe("deployment", function () {
    it("should be bound to the provider registry given at deployment", async function () {
      const { consents, providers } = await loadFixture(deployRegistries);
      expect(await consents.providerRegistry()).to.equal(await providers.getAddress());
    });

    it("should start every patient in epoch 0 with no consent and no delegate", async function () {
      const { consents, patient, clinic, delegate } = await loadFixture(deployRegistries);
      expect(await consents.epochOf(patient.address)).to.equal(0);
      expect(await consentView(consents, patient.address, clinic.address, LAB)).to.deep.equal({
        purposes: 0,
        actions: 0,
        notBefore: 0,
        expiresAt: 0,
        issuedAt: 0,
        epoch: 0,
        decision: Decision.None,
        sequence: 0,
        status: ConsentStatus.None,
      });
      expect(await consents.isDelegate(patient.address, delegate.address)).to.be.false;
      expect(await consents.delegateExpiry(patient.address, delegate.address)).to.equal(0);
    });

    it("should expose no owner, pause, upgrade or forwarder function", async function () {
      const { consents } = await loadFixture(deployRegistries);
      const names: string[] = [];
      consents.interface.forEachFunction((fn) => names.push(fn.name));
      expect(names).to.include("grant"); // the listing itself works
      for (const forbidden of [
        "owner",
        "transferOwnership",
        "renounceOwnership",
        "pause",
        "unpause",
        "paused",
        "upgradeTo",
        "upgradeToAndCall",
        "grantRole",
        "isTrustedForwarder",
        "trustedForwarder",
      ]) {
        expect(names, forbidden).to.not.include(forbidden);
      }
    });
  });

  describe("grant", function () {
    context("with valid arguments", function () {
      it("should store every field of the permit and report it Active", async function () {
        const { consents, patient, clinic, start, expiresAt } = await loadFixture(deployWithLabPermit);
        expect(await consentView(consents, patient.address, clinic.address, LAB)).to.deep.equal({
          purposes: PURPOSES,
          actions: ACTIONS,
          notBefore: start,
          expiresAt,
          issuedAt: start,
          epoch: 0,
          decision: Decision.Permit,
          sequence: 1,
          status: ConsentStatus.Active,
        });
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
      });

      it("should emit ConsentGranted with every field, notBefore 0 emitted as the block time", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, at + DAY))
          .to.emit(consents, "ConsentGranted")
          .withArgs(patient.address, clinic.address, LAB, PURPOSES, ACTIONS, at, at + DAY, patient.address, false);
      });

      it("should keep a future notBefore as given, emit it, and report the permit Pending", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        const notBefore = at + DAY;
        await time.setNextBlockTimestamp(at);
        await expect(
          consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, notBefore, notBefore + DAY),
        )
          .to.emit(consents, "ConsentGranted")
          .withArgs(
            patient.address,
            clinic.address,
            LAB,
            PURPOSES,
            ACTIONS,
            notBefore,
            notBefore + DAY,
            patient.address,
            false,
          );
        const view = await consentView(consents, patient.address, clinic.address, LAB);
        expect(view.notBefore).to.equal(notBefore);
        expect(view.issuedAt).to.equal(at);
        expect(view.status).to.equal(ConsentStatus.Pending);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
      });

      it("should accept a notBefore in the past while expiresAt is ahead, and keep it as given", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const past = (await time.latest()) - DAY;
        await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, past, past + 2 * DAY))
          .to.emit(consents, "ConsentGranted")
          .withArgs(
            patient.address,
            clinic.address,
            LAB,
            PURPOSES,
            ACTIONS,
            past,
            past + 2 * DAY,
            patient.address,
            false,
          );
        const view = await consentView(consents, patient.address, clinic.address, LAB);
        expect(view.notBefore).to.equal(past);
        expect(view.status).to.equal(ConsentStatus.Active);
      });

      it("should accept every defined purpose and action bit, and the shortest term (expiresAt = now + 1)", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await consents.connect(patient).grant(clinic.address, LAB, ALL_PURPOSES, ALL_ACTIONS, 0, at + 1);
        const view = await consentView(consents, patient.address, clinic.address, LAB);
        expect(view.purposes).to.equal(ALL_PURPOSES);
        expect(view.actions).to.equal(ALL_ACTIONS);
        expect(view.notBefore).to.equal(at);
        expect(view.expiresAt).to.equal(at + 1);
        expect(view.status).to.equal(ConsentStatus.Active);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.COVERAGE, Action.CORRECT)).to
          .be.true;
      });

      it("should replace an earlier permit for the same key", async function () {
        const { consents, patient, clinic, expiresAt } = await loadFixture(deployWithLabPermit);
        const research = purposeMask(Purpose.HRESCH);
        const collect = actionMask(Action.COLLECT);
        await consents.connect(patient).grant(clinic.address, LAB, research, collect, 0, expiresAt + DAY);
        const view = await consentView(consents, patient.address, clinic.address, LAB);
        expect(view.purposes).to.equal(research);
        expect(view.actions).to.equal(collect);
        expect(view.expiresAt).to.equal(expiresAt + DAY);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.HRESCH, Action.COLLECT)).to.be
          .true;
      });

      it("should replace a deny for the same key", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        await consents.connect(patient).deny(clinic.address, LAB);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Denied);
        const expiresAt = (await time.latest()) + DAY;
        await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
      });

      it("should keep consents of other categories, grantees and patients apart", async function () {
        const { consents, patient, clinic, lab, other } = await loadFixture(deployWithLabPermit);
        expect(await statusOf(consents, patient.address, clinic.address, IMAGING)).to.equal(ConsentStatus.None);
        expect(await statusOf(consents, patient.address, lab.address, LAB)).to.equal(ConsentStatus.None);
        expect(await statusOf(consents, other.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
        expect(await consents.isAuthorized(patient.address, clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to
          .be.false;
        expect(await consents.isAuthorized(patient.address, lab.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
        expect(await consents.isAuthorized(other.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
      });
    });

    context("with invalid arguments", function () {
      it("should revert with ZeroGrantee when the grantee is the zero address", async function () {
        const { consents, patient } = await loadFixture(deployRegistries);
        const expiresAt = (await time.latest()) + DAY;
        await expect(
          consents.connect(patient).grant(ethers.ZeroAddress, LAB, PURPOSES, ACTIONS, 0, expiresAt),
        ).to.be.revertedWithCustomError(consents, "ZeroGrantee");
      });

      it("should revert with GranteeIsPatient when the patient grants themself", async function () {
        const { consents, patient } = await loadFixture(deployRegistries);
        const expiresAt = (await time.latest()) + DAY;
        await expect(consents.connect(patient).grant(patient.address, LAB, PURPOSES, ACTIONS, 0, expiresAt))
          .to.be.revertedWithCustomError(consents, "GranteeIsPatient")
          .withArgs(patient.address);
      });

      it("should revert with ZeroCategory when the category is zero", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const expiresAt = (await time.latest()) + DAY;
        await expect(
          consents.connect(patient).grant(clinic.address, ethers.ZeroHash, PURPOSES, ACTIONS, 0, expiresAt),
        ).to.be.revertedWithCustomError(consents, "ZeroCategory");
      });

      for (const [label, purposes] of [
        ["empty", 0],
        ["an unknown bit (1 << 10)", 1 << 10],
        ["every purpose plus an unknown bit", ALL_PURPOSES | (1 << 10)],
        ["the top bit (1 << 31)", 2 ** 31],
      ] as const) {
        it(`should revert with InvalidPurposes when the purposes mask is ${label}`, async function () {
          const { consents, patient, clinic } = await loadFixture(deployRegistries);
          const expiresAt = (await time.latest()) + DAY;
          await expect(consents.connect(patient).grant(clinic.address, LAB, purposes, ACTIONS, 0, expiresAt))
            .to.be.revertedWithCustomError(consents, "InvalidPurposes")
            .withArgs(purposes);
        });
      }

      for (const [label, actions] of [
        ["empty", 0],
        ["an unknown bit (1 << 5)", 1 << 5],
        ["every action plus an unknown bit", ALL_ACTIONS | (1 << 5)],
        ["0xff", 0xff],
      ] as const) {
        it(`should revert with InvalidActions when the actions mask is ${label}`, async function () {
          const { consents, patient, clinic } = await loadFixture(deployRegistries);
          const expiresAt = (await time.latest()) + DAY;
          await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, actions, 0, expiresAt))
            .to.be.revertedWithCustomError(consents, "InvalidActions")
            .withArgs(actions);
        });
      }

      it("should revert with InvalidPeriod when expiresAt equals notBefore", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const notBefore = (await time.latest()) + DAY;
        await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, notBefore, notBefore))
          .to.be.revertedWithCustomError(consents, "InvalidPeriod")
          .withArgs(notBefore, notBefore);
      });

      it("should revert with InvalidPeriod when expiresAt is before notBefore", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const notBefore = (await time.latest()) + DAY;
        await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, notBefore, notBefore - 1))
          .to.be.revertedWithCustomError(consents, "InvalidPeriod")
          .withArgs(notBefore, notBefore - 1);
      });

      it("should revert with InvalidPeriod(now, expiresAt) when notBefore is 0 and expiresAt is now", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, at))
          .to.be.revertedWithCustomError(consents, "InvalidPeriod")
          .withArgs(at, at);
      });

      it("should revert with InvalidPeriod(now, expiresAt) when notBefore is 0 and expiresAt is past", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, at - DAY))
          .to.be.revertedWithCustomError(consents, "InvalidPeriod")
          .withArgs(at, at - DAY);
      });

      it("should revert with ExpiryNotInFuture when notBefore is past and expiresAt is now", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, at - DAY, at))
          .to.be.revertedWithCustomError(consents, "ExpiryNotInFuture")
          .withArgs(at, at);
      });

      it("should revert with ExpiryNotInFuture when the whole period is past", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, at - DAY, at - 1))
          .to.be.revertedWithCustomError(consents, "ExpiryNotInFuture")
          .withArgs(at - 1, at);
      });

      it("should store nothing when a grant is refused", async function () {
        const { consents, patient, clinic } = await loadFixture(deployRegistries);
        const expiresAt = (await time.latest()) + DAY;
        await expect(consents.connect(patient).grant(clinic.address, LAB, 0, ACTIONS, 0, expiresAt)).to.be.reverted;
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
      });
    });
  });

  describe("revoke", function () {
    it("should keep every other field of the slot, even at the widest values each field holds", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      // The consent's slot: `_consents` is the registry's fourth storage variable (slot 3), a nested mapping.
      const coder = ethers.AbiCoder.defaultAbiCoder();
      const inner = ethers.keccak256(coder.encode(["address", "uint256"], [patient.address, 3]));
      const middle = ethers.keccak256(coder.encode(["address", "bytes32"], [clinic.address, inner]));
      const slot = ethers.keccak256(coder.encode(["bytes32", "bytes32"], [LAB, middle]));
      const registry = await consents.getAddress();
      expect(BigInt(await ethers.provider.getStorage(registry, slot))).to.not.equal(0n); // the permit is there
      const widest = {
        purposes: ALL_PURPOSES,
        actions: ALL_ACTIONS,
        notBefore: 2 ** 40 - 3,
        expiresAt: 2 ** 40 - 1,
        issuedAt: 2 ** 40 - 2,
        epoch: 2 ** 32 - 1,
        decision: Decision.Permit,
        sequence: 2 ** 31,
      };
      const word =
        BigInt(widest.purposes) |
        (BigInt(widest.actions) << 32n) |
        (BigInt(widest.notBefore) << 40n) |
        (BigInt(widest.expiresAt) << 80n) |
        (BigInt(widest.issuedAt) << 120n) |
        (BigInt(widest.epoch) << 160n) |
        (BigInt(widest.decision) << 192n) |
        (BigInt(widest.sequence) << 200n);
      await setStorageAt(registry, slot, word);
      const before = await consentView(consents, patient.address, clinic.address, LAB);
      expect(before).to.deep.equal({ ...widest, status: ConsentStatus.Revoked }); // epoch 2^32 - 1 is not the patient's
      await consents.connect(patient).revoke(clinic.address, LAB);
      const after = await consentView(consents, patient.address, clinic.address, LAB);
      expect(after).to.deep.equal({
        ...widest,
        decision: Decision.Revoked,
        sequence: 2 ** 31 + 1,
        status: ConsentStatus.Revoked,
      });
    });

    it("should mark a permit Revoked, keep its fields, and emit ConsentRevoked", async function () {
      const { consents, patient, clinic, start, expiresAt } = await loadFixture(deployWithLabPermit);
      await expect(consents.connect(patient).revoke(clinic.address, LAB))
        .to.emit(consents, "ConsentRevoked")
        .withArgs(patient.address, clinic.address, LAB, patient.address, false);
      expect(await consentView(consents, patient.address, clinic.address, LAB)).to.deep.equal({
        purposes: PURPOSES,
        actions: ACTIONS,
        notBefore: start,
        expiresAt,
        issuedAt: start,
        epoch: 0,
        decision: Decision.Revoked,
        sequence: 2,
        status: ConsentStatus.Revoked,
      });
    });

    it("should end the authorisation at once", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      await consents.connect(patient).revoke(clinic.address, LAB);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should withdraw a deny, so that a permit on ANY_CATEGORY applies again", async function () {
      const { consents, patient, clinic, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, expiresAt);
      await consents.connect(patient).deny(clinic.address, IMAGING);
      expect(await consents.isAuthorized(patient.address, clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      await expect(consents.connect(patient).revoke(clinic.address, IMAGING))
        .to.emit(consents, "ConsentRevoked")
        .withArgs(patient.address, clinic.address, IMAGING, patient.address, false);
      const view = await consentView(consents, patient.address, clinic.address, IMAGING);
      expect(view.decision).to.equal(Decision.Revoked);
      expect(view.status).to.equal(ConsentStatus.Revoked);
      expect(await consents.isAuthorized(patient.address, clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should revoke a pending permit and an expired one", async function () {
      const { consents, patient, clinic, lab, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).grant(lab.address, LAB, PURPOSES, ACTIONS, expiresAt + DAY, expiresAt + 2 * DAY);
      await time.increaseTo(expiresAt);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Expired);
      expect(await statusOf(consents, patient.address, lab.address, LAB)).to.equal(ConsentStatus.Pending);
      await consents.connect(patient).revoke(clinic.address, LAB);
      await consents.connect(patient).revoke(lab.address, LAB);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Revoked);
      expect(await statusOf(consents, patient.address, lab.address, LAB)).to.equal(ConsentStatus.Revoked);
      await time.increaseTo(expiresAt + DAY);
      expect(await consents.isAuthorized(patient.address, lab.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.false;
    });

    it("should let the patient grant the same key again after a revoke", async function () {
      const { consents, patient, clinic, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).revoke(clinic.address, LAB);
      await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should revert with NothingToRevoke when nothing was ever granted or denied", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      await expect(consents.connect(patient).revoke(clinic.address, IMAGING))
        .to.be.revertedWithCustomError(consents, "NothingToRevoke")
        .withArgs(patient.address, clinic.address, IMAGING);
    });

    it("should revert with NothingToRevoke when the consent is already revoked", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).revoke(clinic.address, LAB);
      await expect(consents.connect(patient).revoke(clinic.address, LAB))
        .to.be.revertedWithCustomError(consents, "NothingToRevoke")
        .withArgs(patient.address, clinic.address, LAB);
    });

    it("should revert with NothingToRevoke when another account revokes the patient's grantee", async function () {
      const { consents, patient, clinic, stranger } = await loadFixture(deployWithLabPermit);
      await expect(consents.connect(stranger).revoke(clinic.address, LAB))
        .to.be.revertedWithCustomError(consents, "NothingToRevoke")
        .withArgs(stranger.address, clinic.address, LAB);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
    });
  });

  describe("deny", function () {
    it("should store a deny with only its issue time, report it Denied, and emit ConsentDenied", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      const at = (await time.latest()) + 100;
      await time.setNextBlockTimestamp(at);
      await expect(consents.connect(patient).deny(clinic.address, MENTAL_HEALTH))
        .to.emit(consents, "ConsentDenied")
        .withArgs(patient.address, clinic.address, MENTAL_HEALTH, patient.address);
      expect(await consentView(consents, patient.address, clinic.address, MENTAL_HEALTH)).to.deep.equal({
        purposes: 0,
        actions: 0,
        notBefore: 0,
        expiresAt: 0,
        issuedAt: at,
        epoch: 0,
        decision: Decision.Deny,
        sequence: 1,
        status: ConsentStatus.Denied,
      });
    });

    it("should replace a permit for the same key", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).deny(clinic.address, LAB);
      const view = await consentView(consents, patient.address, clinic.address, LAB);
      expect(view.decision).to.equal(Decision.Deny);
      expect(view.purposes).to.equal(0);
      expect(view.status).to.equal(ConsentStatus.Denied);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should beat a permit on ANY_CATEGORY for the denied category only", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      const expiresAt = (await time.latest()) + DAY;
      await consents.connect(patient).grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, expiresAt);
      await consents.connect(patient).deny(clinic.address, MENTAL_HEALTH);
      expect(await consents.isAuthorized(patient.address, clinic.address, MENTAL_HEALTH, Purpose.TREAT, Action.ACCESS))
        .to.be.false;
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      // ANY_CATEGORY is a scope, never a data category: nobody is authorised "for" it.
      expect(await consents.isAuthorized(patient.address, clinic.address, ANY_CATEGORY, Purpose.TREAT, Action.ACCESS))
        .to.be.false;
    });

    it("should beat a permit on ANY_CATEGORY granted after it", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).deny(clinic.address, LAB);
      const expiresAt = (await time.latest()) + DAY;
      await consents.connect(patient).grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, expiresAt);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await consents.isAuthorized(patient.address, clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should, on ANY_CATEGORY, beat the permits on every category", async function () {
      const { consents, patient, clinic, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).grant(clinic.address, IMAGING, ALL_PURPOSES, ALL_ACTIONS, 0, expiresAt);
      await expect(consents.connect(patient).deny(clinic.address, ANY_CATEGORY))
        .to.emit(consents, "ConsentDenied")
        .withArgs(patient.address, clinic.address, ANY_CATEGORY, patient.address);
      for (const category of [LAB, IMAGING, MENTAL_HEALTH, ANY_CATEGORY]) {
        expect(await consents.isAuthorized(patient.address, clinic.address, category, Purpose.TREAT, Action.ACCESS)).to
          .be.false;
        expect(
          await consents.isAuthorizedForAny(patient.address, clinic.address, category, ALL_PURPOSES, Action.ACCESS),
        ).to.be.false;
      }
      // The category permits are still stored, and apply again once the deny is withdrawn.
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
      await consents.connect(patient).revoke(clinic.address, ANY_CATEGORY);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should be replaced by a later permit on ANY_CATEGORY (grant overwriting a deny)", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      await consents.connect(patient).deny(clinic.address, ANY_CATEGORY);
      const expiresAt = (await time.latest()) + DAY;
      await consents.connect(patient).grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, expiresAt);
      expect(await statusOf(consents, patient.address, clinic.address, ANY_CATEGORY)).to.equal(ConsentStatus.Active);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should concern only the denied grantee", async function () {
      const { consents, patient, clinic, lab, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).grant(lab.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
      await consents.connect(patient).deny(lab.address, ANY_CATEGORY);
      expect(await consents.isAuthorized(patient.address, lab.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.false;
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should revert with ZeroGrantee when the grantee is the zero address", async function () {
      const { consents, patient } = await loadFixture(deployRegistries);
      await expect(consents.connect(patient).deny(ethers.ZeroAddress, LAB)).to.be.revertedWithCustomError(
        consents,
        "ZeroGrantee",
      );
    });

    it("should revert with GranteeIsPatient when the patient denies themself", async function () {
      const { consents, patient } = await loadFixture(deployRegistries);
      await expect(consents.connect(patient).deny(patient.address, LAB))
        .to.be.revertedWithCustomError(consents, "GranteeIsPatient")
        .withArgs(patient.address);
    });

    it("should revert with ZeroCategory when the category is zero", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      await expect(consents.connect(patient).deny(clinic.address, ethers.ZeroHash)).to.be.revertedWithCustomError(
        consents,
        "ZeroCategory",
      );
    });
  });

  describe("revokeAll", function () {
    it("should move the patient to the next epoch and emit AllConsentsRevoked with it", async function () {
      const { consents, patient } = await loadFixture(deployRegistries);
      await expect(consents.connect(patient).revokeAll())
        .to.emit(consents, "AllConsentsRevoked")
        .withArgs(patient.address, 1, patient.address);
      expect(await consents.epochOf(patient.address)).to.equal(1);
      await expect(consents.connect(patient).revokeAll())
        .to.emit(consents, "AllConsentsRevoked")
        .withArgs(patient.address, 2, patient.address);
      expect(await consents.epochOf(patient.address)).to.equal(2);
    });

    it("should end every permit given so far: active, pending, and on ANY_CATEGORY", async function () {
      const { consents, patient, clinic, lab, relayer, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).grant(lab.address, LAB, PURPOSES, ACTIONS, expiresAt - DAY, expiresAt);
      await consents.connect(patient).grant(relayer.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, expiresAt);
      await consents.connect(patient).revokeAll();
      for (const [grantee, category] of [
        [clinic.address, LAB],
        [lab.address, LAB],
        [relayer.address, ANY_CATEGORY],
      ]) {
        const view = await consentView(consents, patient.address, grantee, category);
        expect(view.status).to.equal(ConsentStatus.Revoked);
        expect(view.decision).to.equal(Decision.Permit); // untouched in storage: the epoch tells
        expect(view.epoch).to.equal(0);
      }
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await consents.isAuthorized(patient.address, relayer.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      await time.increaseTo(expiresAt - DAY);
      expect(await consents.isAuthorized(patient.address, lab.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.false;
    });

    it("should let permits granted afterwards work, including for a key revoked by it", async function () {
      const { consents, patient, clinic, lab, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).revokeAll();
      await expect(consents.connect(patient).grant(lab.address, IMAGING, PURPOSES, ACTIONS, 0, expiresAt)).to.emit(
        consents,
        "ConsentGranted",
      );
      await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
      for (const [grantee, category] of [
        [lab.address, IMAGING],
        [clinic.address, LAB],
      ]) {
        const view = await consentView(consents, patient.address, grantee, category);
        expect(view.status).to.equal(ConsentStatus.Active);
        expect(view.epoch).to.equal(1);
        expect(await consents.isAuthorized(patient.address, grantee, category, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
      }
    });

    it("should leave denies in force, even against permits granted afterwards", async function () {
      const { consents, patient, clinic, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).deny(clinic.address, MENTAL_HEALTH);
      await consents.connect(patient).revokeAll();
      expect(await statusOf(consents, patient.address, clinic.address, MENTAL_HEALTH)).to.equal(ConsentStatus.Denied);
      await consents.connect(patient).grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, expiresAt);
      expect(await consents.isAuthorized(patient.address, clinic.address, MENTAL_HEALTH, Purpose.TREAT, Action.ACCESS))
        .to.be.false;
      expect(await consents.isAuthorized(patient.address, clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      // ... and a deny is still withdrawn singly.
      await consents.connect(patient).revoke(clinic.address, MENTAL_HEALTH);
      expect(await consents.isAuthorized(patient.address, clinic.address, MENTAL_HEALTH, Purpose.TREAT, Action.ACCESS))
        .to.be.true;
    });

    it("should concern only the caller: other patients' permits and the caller's delegates stay", async function () {
      const { consents, patient, clinic, other, delegate, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(other).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
      await consents.connect(patient).setDelegate(delegate.address, expiresAt);
      await consents.connect(patient).revokeAll();
      expect(await consents.epochOf(other.address)).to.equal(0);
      expect(await statusOf(consents, other.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
      expect(await consents.isAuthorized(other.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.true;
      expect(await consents.isDelegate(patient.address, delegate.address)).to.be.true;
    });
  });

  describe("isAuthorized", function () {
    it("should be false when nothing was granted", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should be true exactly for the purposes and actions whose bits the permit covers", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      const purposes = purposeMask(Purpose.TREAT, Purpose.HRESCH, Purpose.COVERAGE);
      const actions = actionMask(Action.ACCESS, Action.DISCLOSE);
      await consents.connect(patient).grant(clinic.address, LAB, purposes, actions, 0, (await time.latest()) + DAY);
      let granted = 0;
      for (const purpose of PURPOSE_VALUES) {
        for (const action of ACTION_VALUES) {
          const expected = (purposes & (1 << purpose)) !== 0 && (actions & (1 << action)) !== 0;
          if (expected) granted++;
          expect(
            await consents.isAuthorized(patient.address, clinic.address, LAB, purpose, action),
            `${Purpose[purpose]} ${Action[action]}`,
          ).to.equal(expected);
        }
      }
      expect(granted).to.equal(6);
    });

    it("should apply a permit to its exact category only", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      expect(await consents.isAuthorized(patient.address, clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await consents.isAuthorized(patient.address, clinic.address, ANY_CATEGORY, Purpose.TREAT, Action.ACCESS))
        .to.be.false;
    });

    it("should apply a permit on ANY_CATEGORY to every category", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      await consents
        .connect(patient)
        .grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, (await time.latest()) + DAY);
      for (const category of [LAB, IMAGING, MENTAL_HEALTH, ethers.id("record-1")]) {
        expect(await consents.isAuthorized(patient.address, clinic.address, category, Purpose.CAREMGT, Action.USE)).to
          .be.true;
        expect(await consents.isAuthorized(patient.address, clinic.address, category, Purpose.HRESCH, Action.USE)).to.be
          .false;
      }
    });

    it("should answer no for ANY_CATEGORY itself, a scope of consents and never a data category", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      await consents
        .connect(patient)
        .grant(clinic.address, ANY_CATEGORY, ALL_PURPOSES, ALL_ACTIONS, 0, (await time.latest()) + DAY);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      expect(await consents.isAuthorized(patient.address, clinic.address, ANY_CATEGORY, Purpose.TREAT, Action.ACCESS))
        .to.be.false;
      expect(
        await consents.isAuthorizedForAny(patient.address, clinic.address, ANY_CATEGORY, ALL_PURPOSES, Action.ACCESS),
      ).to.be.false;
      await expect(
        consents
          .connect(clinic)
          .recordAccess(patient.address, ANY_CATEGORY, Purpose.TREAT, Action.ACCESS, ethers.ZeroHash),
      )
        .to.be.revertedWithCustomError(consents, "NotAuthorized")
        .withArgs(patient.address, clinic.address, ANY_CATEGORY, Purpose.TREAT, Action.ACCESS);
    });

    it("should need one permit, exact or ANY_CATEGORY, covering both the purpose and the action", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      const expiresAt = (await time.latest()) + DAY;
      await consents
        .connect(patient)
        .grant(clinic.address, LAB, purposeMask(Purpose.TREAT), actionMask(Action.ACCESS), 0, expiresAt);
      await consents
        .connect(patient)
        .grant(clinic.address, ANY_CATEGORY, purposeMask(Purpose.HRESCH), actionMask(Action.USE), 0, expiresAt);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.HRESCH, Action.USE)).to.be.true;
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.USE)).to.be.false;
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.HRESCH, Action.ACCESS)).to.be
        .false;
    });

    it("should fall back to an active ANY_CATEGORY permit when the exact one has expired", async function () {
      const { consents, patient, clinic, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, expiresAt + DAY);
      await time.increaseTo(expiresAt);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Expired);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      await time.increaseTo(expiresAt + DAY);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should answer for the given patient and grantee only", async function () {
      const { consents, patient, clinic, lab, other } = await loadFixture(deployWithLabPermit);
      expect(await consents.isAuthorized(other.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.false;
      expect(await consents.isAuthorized(patient.address, lab.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.false;
      expect(await consents.isAuthorized(clinic.address, patient.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    context("across the period of a permit", function () {
      async function deployWithFuturePermit() {
        const fixture = await deployRegistries();
        const notBefore = (await time.latest()) + DAY;
        const expiresAt = notBefore + 7 * DAY;
        await fixture.consents
          .connect(fixture.patient)
          .grant(fixture.clinic.address, LAB, PURPOSES, ACTIONS, notBefore, expiresAt);
        return { ...fixture, notBefore, expiresAt };
      }

      for (const [label, offset, authorized, status] of [
        ["one second before notBefore", "notBefore-1", false, ConsentStatus.Pending],
        ["at notBefore", "notBefore", true, ConsentStatus.Active],
        ["one second before expiresAt", "expiresAt-1", true, ConsentStatus.Active],
        ["at expiresAt", "expiresAt", false, ConsentStatus.Expired],
      ] as const) {
        it(`should be ${authorized} and the status ${ConsentStatus[status]} ${label}`, async function () {
          const { consents, patient, clinic, notBefore, expiresAt } = await loadFixture(deployWithFuturePermit);
          const at = {
            "notBefore-1": notBefore - 1,
            notBefore,
            "expiresAt-1": expiresAt - 1,
            expiresAt,
          }[offset];
          await time.increaseTo(at);
          expect(await time.latest()).to.equal(at);
          expect(
            await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS),
          ).to.equal(authorized);
          expect(
            await consents.isAuthorizedForAny(patient.address, clinic.address, LAB, ALL_PURPOSES, Action.ACCESS),
          ).to.equal(authorized);
          expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(status);
        });
      }
    });
  });

  describe("isAuthorizedForAny", function () {
    it("should be true when at least one purpose of the mask is permitted for the action", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      const mask = purposeMask(Purpose.HRESCH, Purpose.CAREMGT);
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, LAB, mask, Action.USE)).to.be.true;
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, LAB, ALL_PURPOSES, Action.ACCESS)).to.be
        .true;
    });

    it("should be false when no purpose of the mask is permitted", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      const mask = purposeMask(Purpose.HRESCH, Purpose.HPAYMT, Purpose.PUBHLTH);
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, LAB, mask, Action.ACCESS)).to.be.false;
    });

    it("should be false for an empty mask or a mask of unknown bits only", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, LAB, 0, Action.ACCESS)).to.be.false;
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, LAB, 1 << 10, Action.ACCESS)).to.be
        .false;
    });

    it("should be false when the action is not permitted, whatever the purposes", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithLabPermit);
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, LAB, ALL_PURPOSES, Action.DISCLOSE)).to
        .be.false;
    });

    it("should consider the ANY_CATEGORY permit and yield to a deny", async function () {
      const { consents, patient, clinic, expiresAt } = await loadFixture(deployWithLabPermit);
      const research = purposeMask(Purpose.HRESCH);
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, IMAGING, research, Action.USE)).to.be
        .false;
      await consents.connect(patient).grant(clinic.address, ANY_CATEGORY, research, ACTIONS, 0, expiresAt);
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, IMAGING, research, Action.USE)).to.be
        .true;
      await consents.connect(patient).deny(clinic.address, IMAGING);
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, IMAGING, research, Action.USE)).to.be
        .false;
      expect(await consents.isAuthorizedForAny(patient.address, clinic.address, LAB, research, Action.USE)).to.be.true;
    });
  });

  describe("consentOf", function () {
    it("should report None for a key never written", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
    });

    it("should report Active, Pending, Expired, Revoked and Denied as the consent stands", async function () {
      const { consents, patient, clinic, lab, relayer, other, expiresAt } = await loadFixture(deployWithLabPermit);
      await consents.connect(patient).grant(lab.address, LAB, PURPOSES, ACTIONS, expiresAt + DAY, expiresAt + 2 * DAY);
      await consents.connect(patient).grant(relayer.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
      await consents.connect(patient).revoke(relayer.address, LAB);
      await consents.connect(patient).deny(other.address, LAB);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
      expect(await statusOf(consents, patient.address, lab.address, LAB)).to.equal(ConsentStatus.Pending);
      expect(await statusOf(consents, patient.address, relayer.address, LAB)).to.equal(ConsentStatus.Revoked);
      expect(await statusOf(consents, patient.address, other.address, LAB)).to.equal(ConsentStatus.Denied);
      await time.increaseTo(expiresAt);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Expired);
      expect(await statusOf(consents, patient.address, lab.address, LAB)).to.equal(ConsentStatus.Pending);
    });

    it("should report the exact key only, without falling back to ANY_CATEGORY", async function () {
      const { consents, patient, clinic } = await loadFixture(deployRegistries);
      await consents
        .connect(patient)
        .grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, (await time.latest()) + DAY);
      expect(await statusOf(consents, patient.address, clinic.address, ANY_CATEGORY)).to.equal(ConsentStatus.Active);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
    });
  });

  describe("delegates", function () {
    describe("setDelegate", function () {
      it("should appoint the delegate until expiresAt and emit DelegateSet", async function () {
        const { consents, patient, delegate } = await loadFixture(deployRegistries);
        const expiresAt = (await time.latest()) + 7 * DAY;
        await expect(consents.connect(patient).setDelegate(delegate.address, expiresAt))
          .to.emit(consents, "DelegateSet")
          .withArgs(patient.address, delegate.address, expiresAt);
        expect(await consents.isDelegate(patient.address, delegate.address)).to.be.true;
        expect(await consents.delegateExpiry(patient.address, delegate.address)).to.equal(expiresAt);
      });

      it("should change the term when set again, shorter or longer", async function () {
        const { consents, patient, delegate, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await expect(consents.connect(patient).setDelegate(delegate.address, delegateExpiresAt - 3 * DAY))
          .to.emit(consents, "DelegateSet")
          .withArgs(patient.address, delegate.address, delegateExpiresAt - 3 * DAY);
        expect(await consents.delegateExpiry(patient.address, delegate.address)).to.equal(delegateExpiresAt - 3 * DAY);
        await consents.connect(patient).setDelegate(delegate.address, delegateExpiresAt + 30 * DAY);
        expect(await consents.delegateExpiry(patient.address, delegate.address)).to.equal(delegateExpiresAt + 30 * DAY);
      });

      it("should end the term at expiresAt exactly", async function () {
        const { consents, patient, delegate, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await time.increaseTo(delegateExpiresAt - 1);
        expect(await consents.isDelegate(patient.address, delegate.address)).to.be.true;
        await time.increaseTo(delegateExpiresAt);
        expect(await consents.isDelegate(patient.address, delegate.address)).to.be.false;
        expect(await consents.delegateExpiry(patient.address, delegate.address)).to.equal(delegateExpiresAt);
      });

      it("should revert with InvalidDelegate for the zero address", async function () {
        const { consents, patient } = await loadFixture(deployRegistries);
        await expect(consents.connect(patient).setDelegate(ethers.ZeroAddress, (await time.latest()) + DAY))
          .to.be.revertedWithCustomError(consents, "InvalidDelegate")
          .withArgs(ethers.ZeroAddress);
      });

      it("should revert with InvalidDelegate for the patient themself", async function () {
        const { consents, patient } = await loadFixture(deployRegistries);
        await expect(consents.connect(patient).setDelegate(patient.address, (await time.latest()) + DAY))
          .to.be.revertedWithCustomError(consents, "InvalidDelegate")
          .withArgs(patient.address);
      });

      it("should revert with ExpiryNotInFuture when expiresAt is now", async function () {
        const { consents, patient, delegate } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(consents.connect(patient).setDelegate(delegate.address, at))
          .to.be.revertedWithCustomError(consents, "ExpiryNotInFuture")
          .withArgs(at, at);
      });

      it("should revert with ExpiryNotInFuture when expiresAt is past", async function () {
        const { consents, patient, delegate } = await loadFixture(deployRegistries);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(consents.connect(patient).setDelegate(delegate.address, at - DAY))
          .to.be.revertedWithCustomError(consents, "ExpiryNotInFuture")
          .withArgs(at - DAY, at);
        expect(await consents.isDelegate(patient.address, delegate.address)).to.be.false;
      });

      it("should, called by a delegate, appoint the delegate's own delegates and not the patient's", async function () {
        const { consents, patient, delegate, stranger, clinic, delegateExpiresAt } =
          await loadFixture(deployWithDelegate);
        await expect(consents.connect(delegate).setDelegate(stranger.address, delegateExpiresAt))
          .to.emit(consents, "DelegateSet")
          .withArgs(delegate.address, stranger.address, delegateExpiresAt);
        expect(await consents.isDelegate(delegate.address, stranger.address)).to.be.true;
        expect(await consents.isDelegate(patient.address, stranger.address)).to.be.false;
        expect(await consents.delegateExpiry(patient.address, stranger.address)).to.equal(0);
        await expect(
          consents
            .connect(stranger)
            .grantFor(patient.address, clinic.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt),
        )
          .to.be.revertedWithCustomError(consents, "NotDelegate")
          .withArgs(patient.address, stranger.address);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
      });
    });

    describe("removeDelegate", function () {
      it("should remove the delegate at once and emit DelegateRemoved", async function () {
        const { consents, patient, delegate, clinic, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await expect(consents.connect(patient).removeDelegate(delegate.address))
          .to.emit(consents, "DelegateRemoved")
          .withArgs(patient.address, delegate.address);
        expect(await consents.isDelegate(patient.address, delegate.address)).to.be.false;
        expect(await consents.delegateExpiry(patient.address, delegate.address)).to.equal(0);
        await expect(
          consents
            .connect(delegate)
            .grantFor(patient.address, clinic.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt),
        )
          .to.be.revertedWithCustomError(consents, "NotDelegate")
          .withArgs(patient.address, delegate.address);
      });

      it("should remove a delegate whose term has ended", async function () {
        const { consents, patient, delegate, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await time.increaseTo(delegateExpiresAt + DAY);
        await expect(consents.connect(patient).removeDelegate(delegate.address))
          .to.emit(consents, "DelegateRemoved")
          .withArgs(patient.address, delegate.address);
        expect(await consents.delegateExpiry(patient.address, delegate.address)).to.equal(0);
      });

      it("should revert with DelegateNotFound for an account never appointed", async function () {
        const { consents, patient, stranger } = await loadFixture(deployWithDelegate);
        await expect(consents.connect(patient).removeDelegate(stranger.address))
          .to.be.revertedWithCustomError(consents, "DelegateNotFound")
          .withArgs(patient.address, stranger.address);
      });

      it("should revert with DelegateNotFound for a delegate already removed", async function () {
        const { consents, patient, delegate } = await loadFixture(deployWithDelegate);
        await consents.connect(patient).removeDelegate(delegate.address);
        await expect(consents.connect(patient).removeDelegate(delegate.address))
          .to.be.revertedWithCustomError(consents, "DelegateNotFound")
          .withArgs(patient.address, delegate.address);
      });

      it("should not let a delegate remove the patient's other delegates", async function () {
        const { consents, patient, delegate, other, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await consents.connect(patient).setDelegate(other.address, delegateExpiresAt);
        await expect(consents.connect(delegate).removeDelegate(other.address))
          .to.be.revertedWithCustomError(consents, "DelegateNotFound")
          .withArgs(delegate.address, other.address);
        expect(await consents.isDelegate(patient.address, other.address)).to.be.true;
      });
    });

    describe("grantFor, revokeFor and denyFor", function () {
      it("should grant on the patient's behalf, as the patient's own grant", async function () {
        const { consents, patient, delegate, clinic, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(
          consents
            .connect(delegate)
            .grantFor(patient.address, clinic.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt),
        )
          .to.emit(consents, "ConsentGranted")
          .withArgs(
            patient.address,
            clinic.address,
            LAB,
            PURPOSES,
            ACTIONS,
            at,
            delegateExpiresAt,
            delegate.address,
            false,
          );
        expect(await consentView(consents, patient.address, clinic.address, LAB)).to.deep.equal({
          purposes: PURPOSES,
          actions: ACTIONS,
          notBefore: at,
          expiresAt: delegateExpiresAt,
          issuedAt: at,
          epoch: 0,
          decision: Decision.Permit,
          sequence: 1,
          status: ConsentStatus.Active,
        });
        expect(await statusOf(consents, delegate.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
      });

      it("should let a permit outlive the delegate's term", async function () {
        const { consents, patient, delegate, clinic, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await consents
          .connect(delegate)
          .grantFor(patient.address, clinic.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt + 30 * DAY);
        await time.increaseTo(delegateExpiresAt + DAY);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
      });

      it("should check a delegated grant as the patient's own (GranteeIsPatient, InvalidPurposes)", async function () {
        const { consents, patient, delegate, clinic, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await expect(
          consents
            .connect(delegate)
            .grantFor(patient.address, patient.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt),
        )
          .to.be.revertedWithCustomError(consents, "GranteeIsPatient")
          .withArgs(patient.address);
        await expect(
          consents
            .connect(delegate)
            .grantFor(patient.address, clinic.address, LAB, 1 << 10, ACTIONS, 0, delegateExpiresAt),
        )
          .to.be.revertedWithCustomError(consents, "InvalidPurposes")
          .withArgs(1 << 10);
      });

      it("should refuse a delegate granting, revoking or denying a consent to itself (DelegateIsGrantee)", async function () {
        const { consents, patient, delegate, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await expect(
          consents
            .connect(delegate)
            .grantFor(patient.address, delegate.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt),
        )
          .to.be.revertedWithCustomError(consents, "DelegateIsGrantee")
          .withArgs(delegate.address);
        await expect(consents.connect(delegate).denyFor(patient.address, delegate.address, LAB))
          .to.be.revertedWithCustomError(consents, "DelegateIsGrantee")
          .withArgs(delegate.address);
        // The patient's deny of the delegate cannot be lifted by the delegate itself.
        await consents.connect(patient).deny(delegate.address, ANY_CATEGORY);
        await expect(consents.connect(delegate).revokeFor(patient.address, delegate.address, ANY_CATEGORY))
          .to.be.revertedWithCustomError(consents, "DelegateIsGrantee")
          .withArgs(delegate.address);
        expect(await statusOf(consents, patient.address, delegate.address, ANY_CATEGORY)).to.equal(
          ConsentStatus.Denied,
        );
      });

      it("should still let the patient grant the delegate directly", async function () {
        const { consents, patient, delegate, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await consents.connect(patient).grant(delegate.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt);
        expect(await consents.isAuthorized(patient.address, delegate.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
      });

      it("should revoke on the patient's behalf and emit ConsentRevoked for the patient", async function () {
        const { consents, patient, delegate, clinic, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt);
        await expect(consents.connect(delegate).revokeFor(patient.address, clinic.address, LAB))
          .to.emit(consents, "ConsentRevoked")
          .withArgs(patient.address, clinic.address, LAB, delegate.address, false);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Revoked);
      });

      it("should revert revokeFor with NothingToRevoke for the patient when there is nothing", async function () {
        const { consents, patient, delegate, clinic } = await loadFixture(deployWithDelegate);
        await expect(consents.connect(delegate).revokeFor(patient.address, clinic.address, LAB))
          .to.be.revertedWithCustomError(consents, "NothingToRevoke")
          .withArgs(patient.address, clinic.address, LAB);
      });

      it("should deny on the patient's behalf and emit ConsentDenied for the patient", async function () {
        const { consents, patient, delegate, clinic, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt);
        await expect(consents.connect(delegate).denyFor(patient.address, clinic.address, ANY_CATEGORY))
          .to.emit(consents, "ConsentDenied")
          .withArgs(patient.address, clinic.address, ANY_CATEGORY, delegate.address);
        expect(await statusOf(consents, patient.address, clinic.address, ANY_CATEGORY)).to.equal(ConsentStatus.Denied);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
      });

      it("should check a delegated deny as the patient's own (GranteeIsPatient)", async function () {
        const { consents, patient, delegate } = await loadFixture(deployWithDelegate);
        await expect(consents.connect(delegate).denyFor(patient.address, patient.address, LAB))
          .to.be.revertedWithCustomError(consents, "GranteeIsPatient")
          .withArgs(patient.address);
      });

      it("should keep the delegate's own consents and epoch apart from the patient's", async function () {
        const { consents, patient, delegate, clinic, delegateExpiresAt } = await loadFixture(deployWithDelegate);
        await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, delegateExpiresAt);
        await consents.connect(delegate).revokeAll();
        expect(await consents.epochOf(delegate.address)).to.equal(1);
        expect(await consents.epochOf(patient.address)).to.equal(0);
        await expect(consents.connect(delegate).revoke(clinic.address, LAB))
          .to.be.revertedWithCustomError(consents, "NothingToRevoke")
          .withArgs(delegate.address, clinic.address, LAB);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
      });

      context("when the caller is not a delegate of the patient whose term is running", function () {
        /** Expects each of the three delegated calls, made by `caller` for `patient`, to revert with NotDelegate. */
        async function expectNotDelegate(
          consents: ConsentRegistry,
          caller: HardhatEthersSigner,
          patient: string,
          grantee: string,
          expiresAt: number,
        ) {
          const calls = [
            [
              "grantFor",
              () => consents.connect(caller).grantFor(patient, grantee, LAB, PURPOSES, ACTIONS, 0, expiresAt),
            ],
            ["revokeFor", () => consents.connect(caller).revokeFor(patient, grantee, LAB)],
            ["denyFor", () => consents.connect(caller).denyFor(patient, grantee, LAB)],
          ] as const;
          for (const [name, call] of calls) {
            await expect(call(), name)
              .to.be.revertedWithCustomError(consents, "NotDelegate")
              .withArgs(patient, caller.address);
          }
        }

        /** {deployWithDelegate}, with a permit the delegated calls could change. */
        async function deployWithDelegateAndPermit() {
          const fixture = await deployWithDelegate();
          await fixture.consents
            .connect(fixture.patient)
            .grant(fixture.clinic.address, LAB, PURPOSES, ACTIONS, 0, fixture.delegateExpiresAt + 30 * DAY);
          return fixture;
        }

        it("should revert with NotDelegate for a stranger", async function () {
          const { consents, patient, stranger, clinic, delegateExpiresAt } =
            await loadFixture(deployWithDelegateAndPermit);
          await expectNotDelegate(consents, stranger, patient.address, clinic.address, delegateExpiresAt);
          expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
        });

        it("should revert with NotDelegate for a delegate whose term ended (from expiresAt on)", async function () {
          const { consents, patient, delegate, clinic, delegateExpiresAt } =
            await loadFixture(deployWithDelegateAndPermit);
          // One second before the end of the term, the delegate still acts.
          await time.setNextBlockTimestamp(delegateExpiresAt - 1);
          await expect(consents.connect(delegate).denyFor(patient.address, clinic.address, IMAGING))
            .to.emit(consents, "ConsentDenied")
            .withArgs(patient.address, clinic.address, IMAGING, delegate.address);
          // From expiresAt on, nothing it tries goes through.
          await time.setNextBlockTimestamp(delegateExpiresAt);
          await expectNotDelegate(consents, delegate, patient.address, clinic.address, delegateExpiresAt + DAY);
          expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
        });

        it("should revert with NotDelegate for a removed delegate", async function () {
          const { consents, patient, delegate, clinic, delegateExpiresAt } =
            await loadFixture(deployWithDelegateAndPermit);
          await consents.connect(patient).removeDelegate(delegate.address);
          await expectNotDelegate(consents, delegate, patient.address, clinic.address, delegateExpiresAt);
        });

        it("should revert with NotDelegate for a delegate of another patient", async function () {
          const { consents, patient, other, delegate, clinic, delegateExpiresAt } =
            await loadFixture(deployWithDelegateAndPermit);
          await expectNotDelegate(consents, delegate, other.address, clinic.address, delegateExpiresAt);
          expect(await consents.isDelegate(patient.address, delegate.address)).to.be.true;
        });

        it("should revert with NotDelegate for the patient themself (who acts directly)", async function () {
          const { consents, patient, clinic, delegateExpiresAt } = await loadFixture(deployWithDelegateAndPermit);
          await expectNotDelegate(consents, patient, patient.address, clinic.address, delegateExpiresAt);
        });
      });
    });
  });

  describe("nobody but the patient and their delegates", function () {
    it("should let no other account (deployer, registry admin, registrar, grantee, stranger) change the patient's consents", async function () {
      const { consents, patient, admin, registrar, clinic, stranger, expiresAt } =
        await loadFixture(deployWithLabPermit);
      const [deployer] = await ethers.getSigners();
      expect(deployer.address).to.equal(admin.address);
      await consents.connect(patient).deny(clinic.address, MENTAL_HEALTH);
      const before = [
        await consentView(consents, patient.address, clinic.address, LAB),
        await consentView(consents, patient.address, clinic.address, MENTAL_HEALTH),
      ];
      for (const account of [admin, registrar, clinic, stranger]) {
        for (const call of [
          () =>
            consents
              .connect(account)
              .grantFor(patient.address, clinic.address, IMAGING, PURPOSES, ACTIONS, 0, expiresAt),
          () => consents.connect(account).revokeFor(patient.address, clinic.address, LAB),
          () => consents.connect(account).denyFor(patient.address, clinic.address, LAB),
        ]) {
          await expect(call())
            .to.be.revertedWithCustomError(consents, "NotDelegate")
            .withArgs(patient.address, account.address);
        }
        // Their own calls concern their own consents only.
        await expect(consents.connect(account).revoke(clinic.address, MENTAL_HEALTH))
          .to.be.revertedWithCustomError(consents, "NothingToRevoke")
          .withArgs(account.address, clinic.address, MENTAL_HEALTH);
        await consents.connect(account).revokeAll();
      }
      expect(await consentView(consents, patient.address, clinic.address, LAB)).to.deep.equal(before[0]);
      expect(await consentView(consents, patient.address, clinic.address, MENTAL_HEALTH)).to.deep.equal(before[1]);
      expect(await statusOf(consents, patient.address, clinic.address, IMAGING)).to.equal(ConsentStatus.None);
      expect(await consents.epochOf(patient.address)).to.equal(0);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });
  });

  describe("multicall", function () {
    it("should make several grants in one transaction, each as the patient's own", async function () {
      const { consents, patient, clinic, lab } = await loadFixture(deployRegistries);
      const expiresAt = (await time.latest()) + 30 * DAY;
      const calls: [string, string][] = [
        [clinic.address, LAB],
        [clinic.address, IMAGING],
        [lab.address, LAB],
      ];
      const data = calls.map(([grantee, category]) =>
        consents.interface.encodeFunctionData("grant", [grantee, category, PURPOSES, ACTIONS, 0, expiresAt]),
      );
      const at = (await time.latest()) + 100;
      await time.setNextBlockTimestamp(at);
      const tx = consents.connect(patient).multicall(data);
      for (const [grantee, category] of calls) {
        await expect(tx)
          .to.emit(consents, "ConsentGranted")
          .withArgs(patient.address, grantee, category, PURPOSES, ACTIONS, at, expiresAt, patient.address, false);
      }
      const receipt = await (await tx).wait();
      const granted = receipt!.logs.filter((log) => consents.interface.parseLog(log)?.name === "ConsentGranted").length;
      expect(granted).to.equal(3);
      for (const [grantee, category] of calls) {
        const view = await consentView(consents, patient.address, grantee, category);
        expect(view.status).to.equal(ConsentStatus.Active);
        expect(view.issuedAt).to.equal(at);
      }
    });

    it("should batch different changes (grant, deny, setDelegate) as the caller", async function () {
      const { consents, patient, clinic, delegate } = await loadFixture(deployRegistries);
      const expiresAt = (await time.latest()) + 30 * DAY;
      await consents
        .connect(patient)
        .multicall([
          consents.interface.encodeFunctionData("grant", [
            clinic.address,
            ANY_CATEGORY,
            PURPOSES,
            ACTIONS,
            0,
            expiresAt,
          ]),
          consents.interface.encodeFunctionData("deny", [clinic.address, MENTAL_HEALTH]),
          consents.interface.encodeFunctionData("setDelegate", [delegate.address, expiresAt]),
        ]);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      expect(await consents.isAuthorized(patient.address, clinic.address, MENTAL_HEALTH, Purpose.TREAT, Action.ACCESS))
        .to.be.false;
      expect(await consents.isDelegate(patient.address, delegate.address)).to.be.true;
    });

    it("should be all or nothing: one refused call reverts the batch with its error", async function () {
      const { consents, patient, clinic, lab } = await loadFixture(deployRegistries);
      const expiresAt = (await time.latest()) + 30 * DAY;
      await expect(
        consents
          .connect(patient)
          .multicall([
            consents.interface.encodeFunctionData("grant", [clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt]),
            consents.interface.encodeFunctionData("grant", [lab.address, LAB, PURPOSES, 1 << 5, 0, expiresAt]),
          ]),
      )
        .to.be.revertedWithCustomError(consents, "InvalidActions")
        .withArgs(1 << 5);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
    });
  });
});
