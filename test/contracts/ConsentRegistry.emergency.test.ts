/**
 * Specification of break-glass windows as the patient keeps control of them: a window is short and not renewed while
 * open, each opening is visible, a patient's (or a delegate's) close sticks until break-glass is turned off and on
 * again or the provider is granted a consent, and a delegate that is an emergency provider cannot turn break-glass on
 * for itself.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { Action, actionMask, categoryId, Purpose, purposeMask } from "../../src/codes";
import { DAY, deployWithDelegateAndKeys, rotateKey } from "../helpers/fixtures";

const LAB = categoryId("laboratory");
const REASON = ethers.id("unconscious patient admitted to ER");
const TREAT = purposeMask(Purpose.TREAT);
const ACCESS = actionMask(Action.ACCESS);

/** {deployWithDelegateAndKeys} with `emergencyDoctor`'s window on `patient` open; returns when it ends. */
async function deployWithWindowOpen() {
  const fixture = await deployWithDelegateAndKeys();
  const openedAt = (await time.latest()) + 100;
  await time.setNextBlockTimestamp(openedAt);
  await fixture.consents.connect(fixture.emergencyDoctor).emergencyAccess(fixture.patient.address, REASON);
  return { ...fixture, openedAt, expiresAt: openedAt + DAY };
}

/** {deployWithWindowOpen}, with the window closed by the patient. */
async function deployWithWindowClosed() {
  const fixture = await deployWithWindowOpen();
  await fixture.consents.connect(fixture.patient).closeEmergencyAccess(fixture.emergencyDoctor.address);
  return fixture;
}

describe("ConsentRegistry: break-glass windows under the patient's control", function () {
  describe("emergencyAccess while a window is open", function () {
    it("should revert with EmergencyAccessAlreadyOpen, naming when the open window ends", async function () {
      const { consents, patient, emergencyDoctor, expiresAt } = await loadFixture(deployWithWindowOpen);
      await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON))
        .to.be.revertedWithCustomError(consents, "EmergencyAccessAlreadyOpen")
        .withArgs(patient.address, emergencyDoctor.address, expiresAt);
      expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(expiresAt);
    });

    it("should refuse a renewal in the window's last second, and accept a new window once it has ended", async function () {
      const { consents, patient, emergencyDoctor, expiresAt } = await loadFixture(deployWithWindowOpen);
      await time.setNextBlockTimestamp(expiresAt - 1);
      await expect(
        consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON),
      ).to.be.revertedWithCustomError(consents, "EmergencyAccessAlreadyOpen");
      await time.setNextBlockTimestamp(expiresAt);
      await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, ethers.id("second emergency")))
        .to.emit(consents, "EmergencyAccessOpened")
        .withArgs(patient.address, emergencyDoctor.address, expiresAt, expiresAt + DAY, ethers.id("second emergency"));
      expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(expiresAt + DAY);
    });

    it("should refuse a renewal from the provider's new key too (windows are kept under the provider's id)", async function () {
      const { consents, providers, patient, emergencyDoctor, newKey } = await loadFixture(deployWithWindowOpen);
      await rotateKey(providers, emergencyDoctor, newKey);
      await expect(consents.connect(newKey).emergencyAccess(patient.address, REASON)).to.be.revertedWithCustomError(
        consents,
        "EmergencyAccessAlreadyOpen",
      );
    });

    it("should let another emergency provider open its own window", async function () {
      const { consents, providers, registrar, patient, other } = await loadFixture(deployWithWindowOpen);
      await providers.connect(registrar).register(other.address, ethers.id("npi:other"), 3, "");
      await expect(consents.connect(other).emergencyAccess(patient.address, REASON)).to.emit(
        consents,
        "EmergencyAccessOpened",
      );
    });

    it("should keep an open window open when the patient re-affirms that break-glass is allowed", async function () {
      const { consents, patient, emergencyDoctor, expiresAt } = await loadFixture(deployWithWindowOpen);
      await expect(consents.connect(patient).setEmergencyAccess(true))
        .to.emit(consents, "EmergencyAccessSet")
        .withArgs(patient.address, true, patient.address);
      expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(expiresAt);
      expect(await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS))
        .to.be.true;
    });
  });

  describe("after the patient closed a provider's window", function () {
    it("should refuse the provider a new window (EmergencyAccessRefused)", async function () {
      const { consents, patient, emergencyDoctor } = await loadFixture(deployWithWindowClosed);
      await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON))
        .to.be.revertedWithCustomError(consents, "EmergencyAccessRefused")
        .withArgs(patient.address, emergencyDoctor.address);
      expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(0);
    });

    it("should still refuse it after the closed window would have expired", async function () {
      const { consents, patient, emergencyDoctor, expiresAt } = await loadFixture(deployWithWindowClosed);
      await time.increaseTo(expiresAt + 7 * DAY);
      await expect(
        consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON),
      ).to.be.revertedWithCustomError(consents, "EmergencyAccessRefused");
    });

    it("should refuse it when a delegate closed the window", async function () {
      const { consents, patient, delegate, emergencyDoctor } = await loadFixture(deployWithWindowOpen);
      await expect(consents.connect(delegate).closeEmergencyAccessFor(patient.address, emergencyDoctor.address))
        .to.emit(consents, "EmergencyAccessClosed")
        .withArgs(patient.address, emergencyDoctor.address, delegate.address);
      await expect(
        consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON),
      ).to.be.revertedWithCustomError(consents, "EmergencyAccessRefused");
    });

    it("should refuse the provider's new key too", async function () {
      const { consents, providers, patient, emergencyDoctor, newKey } = await loadFixture(deployWithWindowClosed);
      await rotateKey(providers, emergencyDoctor, newKey);
      await expect(consents.connect(newKey).emergencyAccess(patient.address, REASON))
        .to.be.revertedWithCustomError(consents, "EmergencyAccessRefused")
        .withArgs(patient.address, newKey.address);
    });

    it("should not refuse other emergency providers", async function () {
      const { consents, providers, registrar, patient, other } = await loadFixture(deployWithWindowClosed);
      await providers.connect(registrar).register(other.address, ethers.id("npi:other"), 3, "");
      await expect(consents.connect(other).emergencyAccess(patient.address, REASON)).to.emit(
        consents,
        "EmergencyAccessOpened",
      );
    });

    it("should allow a new window once the patient turns break-glass off and on again", async function () {
      const { consents, patient, emergencyDoctor } = await loadFixture(deployWithWindowClosed);
      await consents.connect(patient).setEmergencyAccess(false);
      await consents.connect(patient).setEmergencyAccess(true);
      await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON)).to.emit(
        consents,
        "EmergencyAccessOpened",
      );
      expect(await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS))
        .to.be.true;
    });

    it("should not lift the refusal when the patient only re-affirms that break-glass is allowed", async function () {
      const { consents, patient, emergencyDoctor } = await loadFixture(deployWithWindowClosed);
      await consents.connect(patient).setEmergencyAccess(true);
      await expect(
        consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON),
      ).to.be.revertedWithCustomError(consents, "EmergencyAccessRefused");
    });

    it("should allow a new window once the patient grants the provider a consent", async function () {
      const { consents, patient, emergencyDoctor } = await loadFixture(deployWithWindowClosed);
      await consents
        .connect(patient)
        .grant(emergencyDoctor.address, LAB, TREAT, ACCESS, 0, (await time.latest()) + 30 * DAY);
      await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON)).to.emit(
        consents,
        "EmergencyAccessOpened",
      );
    });

    it("should allow a new window once a delegate grants the provider's new key a consent", async function () {
      const { consents, providers, patient, delegate, emergencyDoctor, newKey } =
        await loadFixture(deployWithWindowClosed);
      await rotateKey(providers, emergencyDoctor, newKey);
      await consents
        .connect(delegate)
        .grantFor(patient.address, newKey.address, LAB, TREAT, ACCESS, 0, (await time.latest()) + 30 * DAY);
      await expect(consents.connect(newKey).emergencyAccess(patient.address, REASON)).to.emit(
        consents,
        "EmergencyAccessOpened",
      );
    });

    it("should not lift the refusal when another provider is granted a consent", async function () {
      const { consents, patient, clinic, emergencyDoctor } = await loadFixture(deployWithWindowClosed);
      await consents.connect(patient).grant(clinic.address, LAB, TREAT, ACCESS, 0, (await time.latest()) + 30 * DAY);
      await expect(
        consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON),
      ).to.be.revertedWithCustomError(consents, "EmergencyAccessRefused");
    });

    it("should show each window that opened as its own event", async function () {
      const { consents, patient, emergencyDoctor } = await loadFixture(deployWithWindowClosed);
      await consents.connect(patient).setEmergencyAccess(false);
      await consents.connect(patient).setEmergencyAccess(true);
      await consents.connect(emergencyDoctor).emergencyAccess(patient.address, ethers.id("second"));
      const opened = await consents.queryFilter(
        consents.filters.EmergencyAccessOpened(patient.address, emergencyDoctor.address),
      );
      expect(opened.map((event) => event.args.reasonHash)).to.deep.equal([REASON, ethers.id("second")]);
    });
  });

  describe("setEmergencyAccessFor by a delegate that is an emergency provider", function () {
    /** {deployWithDelegateAndKeys}, with `emergencyDoctor` appointed delegate and break-glass turned off. */
    async function deployWithEmergencyDelegate() {
      const fixture = await deployWithDelegateAndKeys();
      const { consents, patient, emergencyDoctor } = fixture;
      await consents.connect(patient).setDelegate(emergencyDoctor.address, (await time.latest()) + 365 * DAY);
      await consents.connect(patient).setEmergencyAccess(false);
      return fixture;
    }

    it("should revert with DelegateIsGrantee when it turns break-glass on", async function () {
      const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyDelegate);
      await expect(consents.connect(emergencyDoctor).setEmergencyAccessFor(patient.address, true))
        .to.be.revertedWithCustomError(consents, "DelegateIsGrantee")
        .withArgs(emergencyDoctor.address);
      expect(await consents.emergencyAccessAllowed(patient.address)).to.be.false;
    });

    it("should revert with DelegateIsGrantee from a key the provider rotated away from, or to", async function () {
      const { consents, providers, patient, emergencyDoctor, newKey } = await loadFixture(deployWithEmergencyDelegate);
      await consents.connect(patient).setDelegate(newKey.address, (await time.latest()) + 365 * DAY);
      await rotateKey(providers, emergencyDoctor, newKey);
      for (const key of [emergencyDoctor, newKey]) {
        await expect(consents.connect(key).setEmergencyAccessFor(patient.address, true))
          .to.be.revertedWithCustomError(consents, "DelegateIsGrantee")
          .withArgs(key.address);
      }
    });

    it("should let it turn break-glass off", async function () {
      const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyDelegate);
      await consents.connect(patient).setEmergencyAccess(true);
      await expect(consents.connect(emergencyDoctor).setEmergencyAccessFor(patient.address, false))
        .to.emit(consents, "EmergencyAccessSet")
        .withArgs(patient.address, false, emergencyDoctor.address);
    });

    it("should let a delegate that is no provider turn it on", async function () {
      const { consents, patient, delegate } = await loadFixture(deployWithEmergencyDelegate);
      await expect(consents.connect(delegate).setEmergencyAccessFor(patient.address, true))
        .to.emit(consents, "EmergencyAccessSet")
        .withArgs(patient.address, true, delegate.address);
      expect(await consents.emergencyAccessAllowed(patient.address)).to.be.true;
    });

    it("should let a delegate that is a provider without the emergency capability turn it on", async function () {
      const { consents, patient, clinic } = await loadFixture(deployWithEmergencyDelegate);
      await consents.connect(patient).setDelegate(clinic.address, (await time.latest()) + 365 * DAY);
      await expect(consents.connect(clinic).setEmergencyAccessFor(patient.address, true))
        .to.emit(consents, "EmergencyAccessSet")
        .withArgs(patient.address, true, clinic.address);
    });

    it("should refuse a provider that gained the emergency capability after it was appointed", async function () {
      const { consents, providers, registrar, patient, clinic } = await loadFixture(deployWithEmergencyDelegate);
      await consents.connect(patient).setDelegate(clinic.address, (await time.latest()) + 365 * DAY);
      await providers.connect(registrar).setCapabilities(clinic.address, 3);
      await expect(consents.connect(clinic).setEmergencyAccessFor(patient.address, true))
        .to.be.revertedWithCustomError(consents, "DelegateIsGrantee")
        .withArgs(clinic.address);
    });
  });
});
