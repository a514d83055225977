import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";

import {
  Action,
  actionMask,
  ANY_CATEGORY,
  Capability,
  categoryId,
  ConsentStatus,
  Decision,
  Purpose,
  purposeMask,
} from "../../src/codes";
import { DAY, deployWithProviders, rotateKey } from "../helpers/fixtures";

const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");
const MENTAL = categoryId("mental-health");
const REASON = ethers.id("unconscious patient admitted to ER");
const SUSPENSION = ethers.id("licence under review");
const RECORD = ethers.id("record:lab-result-1");

const TREAT_ACCESS = { purposes: purposeMask(Purpose.TREAT), actions: actionMask(Action.ACCESS) };
const PURPOSES = Object.values(Purpose).filter((v): v is Purpose => typeof v === "number");
const ACTIONS = Object.values(Action).filter((v): v is Action => typeof v === "number");

/** {deployWithProviders}, plus two fresh accounts to rotate keys to and a delegate appointed by the patient. */
async function deployScenario() {
  const fixture = await deployWithProviders();
  const signers = await ethers.getSigners();
  const { consents, patient, delegate } = fixture;
  await consents.connect(patient).setDelegate(delegate.address, (await time.latest()) + 365 * DAY);
  return { ...fixture, newKey: signers[10], newerKey: signers[11] };
}

/** {deployScenario} with `emergencyDoctor`'s break-glass window on `patient` open; returns its times. */
async function deployWithEmergencyOpen() {
  const fixture = await deployScenario();
  const openedAt = (await time.latest()) + 100;
  await time.setNextBlockTimestamp(openedAt);
  await fixture.consents.connect(fixture.emergencyDoctor).emergencyAccess(fixture.patient.address, REASON);
  return { ...fixture, openedAt, expiresAt: openedAt + DAY };
}

describe("ConsentRegistry with the provider registry", function () {
  /** A permit of `purposes`/`actions` on `category` from `patient` to `grantee`, for a year. */
  async function grant(
    fixture: Awaited<ReturnType<typeof deployScenario>>,
    grantee: string,
    category: string,
    { purposes, actions } = TREAT_ACCESS,
  ) {
    const expiresAt = (await time.latest()) + 365 * DAY;
    await fixture.consents.connect(fixture.patient).grant(grantee, category, purposes, actions, 0, expiresAt);
  }

  describe("suspension", function () {
    it("should cut an existing consent off at once, and reinstatement should restore it", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, registrar, patient, clinic } = fixture;
      await grant(fixture, clinic.address, LAB);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;

      await providers.connect(registrar).suspend(clinic.address, SUSPENSION);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(
        await consents.isAuthorizedForAny(
          patient.address,
          clinic.address,
          LAB,
          purposeMask(...PURPOSES),
          Action.ACCESS,
        ),
      ).to.be.false;
      await expect(consents.connect(clinic).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD))
        .to.be.revertedWithCustomError(consents, "NotAuthorized")
        .withArgs(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS);
      // The consent itself is untouched: it is the provider that may not use it.
      expect((await consents.consentOf(patient.address, clinic.address, LAB)).status).to.equal(ConsentStatus.Active);

      await providers.connect(registrar).reinstate(clinic.address);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      await expect(
        consents.connect(clinic).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD),
      ).to.emit(consents, "AccessRecorded");
    });

    it("should cut off a consent for ANY_CATEGORY too", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, registrar, patient, clinic } = fixture;
      await grant(fixture, clinic.address, ANY_CATEGORY);
      expect(await consents.isAuthorized(patient.address, clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      await providers.connect(registrar).suspend(clinic.address, SUSPENSION);
      expect(await consents.isAuthorized(patient.address, clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should govern an unregistered grantee (a family member) by the patient's consent alone", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, registrar, patient, other } = fixture;
      const family = { purposes: purposeMask(Purpose.FAMRQT), actions: actionMask(Action.ACCESS) };
      expect(await consents.isAuthorized(patient.address, other.address, LAB, Purpose.FAMRQT, Action.ACCESS)).to.be
        .false;
      await grant(fixture, other.address, LAB, family);
      expect(await consents.isAuthorized(patient.address, other.address, LAB, Purpose.FAMRQT, Action.ACCESS)).to.be
        .true;
      // The registry has no say over it: there is nothing to suspend.
      await expect(providers.connect(registrar).suspend(other.address, SUSPENSION))
        .to.be.revertedWithCustomError(providers, "UnknownProvider")
        .withArgs(other.address);
      await expect(consents.connect(other).recordAccess(patient.address, LAB, Purpose.FAMRQT, Action.ACCESS, RECORD))
        .to.emit(consents, "AccessRecorded")
        .withArgs(patient.address, other.address, LAB, Purpose.FAMRQT, Action.ACCESS, RECORD);
      await consents.connect(patient).revoke(other.address, LAB);
      expect(await consents.isAuthorized(patient.address, other.address, LAB, Purpose.FAMRQT, Action.ACCESS)).to.be
        .false;
    });
  });

  describe("key rotation", function () {
    it("should let a consent given to the original address authorise the new key and not the retired one", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, patient, clinic, newKey } = fixture;
      await grant(fixture, clinic.address, LAB);
      await rotateKey(providers, clinic, newKey);
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      await expect(consents.connect(clinic).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD))
        .to.be.revertedWithCustomError(consents, "NotAuthorized")
        .withArgs(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS);
      await expect(consents.connect(newKey).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD))
        .to.emit(consents, "AccessRecorded")
        .withArgs(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD);
    });

    it("should follow the id through two rotations", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, patient, clinic, newKey, newerKey } = fixture;
      await grant(fixture, clinic.address, ANY_CATEGORY);
      await rotateKey(providers, clinic, newKey);
      await rotateKey(providers, newKey, newerKey);
      expect(await consents.isAuthorized(patient.address, newerKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should let a grant given to the new key directly authorise it while it is current", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, patient, clinic, newKey, newerKey } = fixture;
      await rotateKey(providers, clinic, newKey);
      await expect(
        consents
          .connect(patient)
          .grant(newKey.address, LAB, TREAT_ACCESS.purposes, TREAT_ACCESS.actions, 0, (await time.latest()) + DAY),
      )
        .to.emit(consents, "ConsentGranted")
        .withArgs(
          patient.address,
          newKey.address,
          LAB,
          TREAT_ACCESS.purposes,
          TREAT_ACCESS.actions,
          anyUint,
          anyUint,
          patient.address,
          false,
        );
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
      // Not a consent to the provider's other keys: it is kept under the key as given.
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;

      await rotateKey(providers, newKey, newerKey);
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await consents.isAuthorized(patient.address, newerKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should store a deny given via the new key under the id, and apply it to every key", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, patient, clinic, newKey, newerKey } = fixture;
      await rotateKey(providers, clinic, newKey);
      await grant(fixture, clinic.address, LAB);
      await grant(fixture, newKey.address, LAB);
      await expect(consents.connect(patient).deny(newKey.address, LAB))
        .to.emit(consents, "ConsentDenied")
        .withArgs(patient.address, clinic.address, LAB, patient.address);

      const [stored, status] = await consents.consentOf(patient.address, clinic.address, LAB);
      expect(stored.decision).to.equal(Decision.Deny);
      expect(status).to.equal(ConsentStatus.Denied);
      // The deny beats both the permit under the id and the one under the key as given.
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      await rotateKey(providers, newKey, newerKey);
      expect(await consents.isAuthorized(patient.address, newerKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should let a deny for ANY_CATEGORY given via the new key beat a permit given to that key", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, patient, clinic, newKey } = fixture;
      await rotateKey(providers, clinic, newKey);
      await grant(fixture, newKey.address, LAB);
      await consents.connect(patient).deny(newKey.address, ANY_CATEGORY);
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should let a deny of a category given to a key later rotated keep the new key out of that category", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, patient, clinic, newKey } = fixture;
      await consents.connect(patient).deny(clinic.address, LAB);
      await rotateKey(providers, clinic, newKey);
      await grant(fixture, newKey.address, ANY_CATEGORY);
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await consents.isAuthorized(patient.address, newKey.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should let a deny given to an address before it became a provider's key keep that key out of the category", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, patient, clinic, newKey } = fixture;
      await grant(fixture, clinic.address, ANY_CATEGORY);
      await expect(consents.connect(patient).deny(newKey.address, LAB))
        .to.emit(consents, "ConsentDenied")
        .withArgs(patient.address, newKey.address, LAB, patient.address);
      await rotateKey(providers, clinic, newKey);
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await consents.isAuthorized(patient.address, newKey.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    describe("consentOf", function () {
      it("should find, via the new key, the consent kept under the id", async function () {
        const fixture = await loadFixture(deployScenario);
        const { consents, providers, patient, clinic, newKey } = fixture;
        await grant(fixture, clinic.address, LAB);
        await rotateKey(providers, clinic, newKey);
        const [viaNewKey, status] = await consents.consentOf(patient.address, newKey.address, LAB);
        const [underId] = await consents.consentOf(patient.address, clinic.address, LAB);
        expect(status).to.equal(ConsentStatus.Active);
        expect(viaNewKey.decision).to.equal(Decision.Permit);
        expect([...viaNewKey]).to.deep.equal([...underId]);
      });

      it("should report the consent kept under the key as given first", async function () {
        const fixture = await loadFixture(deployScenario);
        const { consents, providers, patient, clinic, newKey } = fixture;
        await grant(fixture, clinic.address, LAB);
        await rotateKey(providers, clinic, newKey);
        await grant(fixture, newKey.address, LAB, {
          purposes: purposeMask(Purpose.HRESCH),
          actions: actionMask(Action.USE),
        });
        const [consent] = await consents.consentOf(patient.address, newKey.address, LAB);
        expect(consent.purposes).to.equal(purposeMask(Purpose.HRESCH));
        expect(consent.actions).to.equal(actionMask(Action.USE));
      });

      it("should report None for an address with nothing stored, registered or not", async function () {
        const { consents, patient, clinic, other } = await loadFixture(deployScenario);
        for (const grantee of [clinic.address, other.address]) {
          const [consent, status] = await consents.consentOf(patient.address, grantee, LAB);
          expect(status).to.equal(ConsentStatus.None);
          expect(consent.decision).to.equal(Decision.None);
        }
      });

      it("should report None when neither the key nor the id has a consent", async function () {
        const fixture = await loadFixture(deployScenario);
        const { consents, providers, patient, clinic, newKey } = fixture;
        await rotateKey(providers, clinic, newKey);
        const [consent, status] = await consents.consentOf(patient.address, newKey.address, LAB);
        expect(status).to.equal(ConsentStatus.None);
        expect(consent.decision).to.equal(Decision.None);
      });
    });

    describe("revoke", function () {
      it("should revoke, via the new key, a permit kept under the id", async function () {
        const fixture = await loadFixture(deployScenario);
        const { consents, providers, patient, clinic, newKey } = fixture;
        await grant(fixture, clinic.address, LAB);
        await rotateKey(providers, clinic, newKey);
        await expect(consents.connect(patient).revoke(newKey.address, LAB))
          .to.emit(consents, "ConsentRevoked")
          .withArgs(patient.address, clinic.address, LAB, patient.address, false);
        expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
        expect((await consents.consentOf(patient.address, clinic.address, LAB)).status).to.equal(ConsentStatus.Revoked);
      });

      it("should revoke, via the new key, a deny kept under the id (by a delegate too)", async function () {
        const fixture = await loadFixture(deployScenario);
        const { consents, providers, patient, delegate, clinic, newKey } = fixture;
        await rotateKey(providers, clinic, newKey);
        await consents.connect(patient).deny(newKey.address, IMAGING);
        await expect(consents.connect(delegate).revokeFor(patient.address, newKey.address, IMAGING))
          .to.emit(consents, "ConsentRevoked")
          .withArgs(patient.address, clinic.address, IMAGING, delegate.address, false);
        expect((await consents.consentOf(patient.address, clinic.address, IMAGING)).status).to.equal(
          ConsentStatus.Revoked,
        );
      });

      it("should revoke the permit under the key as given first, leaving the one under the id", async function () {
        const fixture = await loadFixture(deployScenario);
        const { consents, providers, patient, clinic, newKey } = fixture;
        await grant(fixture, clinic.address, LAB);
        await rotateKey(providers, clinic, newKey);
        await grant(fixture, newKey.address, LAB);
        await expect(consents.connect(patient).revoke(newKey.address, LAB))
          .to.emit(consents, "ConsentRevoked")
          .withArgs(patient.address, newKey.address, LAB, patient.address, false);
        expect((await consents.consentOf(patient.address, clinic.address, LAB)).status).to.equal(ConsentStatus.Active);
        expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
      });

      it("should revert with NothingToRevoke when there is nothing under the key or the id", async function () {
        const fixture = await loadFixture(deployScenario);
        const { consents, providers, patient, clinic, newKey } = fixture;
        await grant(fixture, clinic.address, LAB);
        await rotateKey(providers, clinic, newKey);
        await expect(consents.connect(patient).revoke(newKey.address, IMAGING))
          .to.be.revertedWithCustomError(consents, "NothingToRevoke")
          .withArgs(patient.address, newKey.address, IMAGING);
        // A permit already revoked under the id is nothing to revoke either.
        await consents.connect(patient).revoke(newKey.address, LAB);
        await expect(consents.connect(patient).revoke(newKey.address, LAB))
          .to.be.revertedWithCustomError(consents, "NothingToRevoke")
          .withArgs(patient.address, newKey.address, LAB);
      });

      it("should revert with NothingToRevoke for an unregistered grantee with nothing stored", async function () {
        const { consents, patient, other } = await loadFixture(deployScenario);
        await expect(consents.connect(patient).revoke(other.address, LAB))
          .to.be.revertedWithCustomError(consents, "NothingToRevoke")
          .withArgs(patient.address, other.address, LAB);
      });
    });

    it("should carry an open break-glass window over to the new key", async function () {
      const { consents, providers, patient, emergencyDoctor, newKey, expiresAt } =
        await loadFixture(deployWithEmergencyOpen);
      await rotateKey(providers, emergencyDoctor, newKey);
      expect(await consents.emergencyAccessExpiry(patient.address, newKey.address)).to.equal(expiresAt);
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.ETREAT, Action.ACCESS)).to.be
        .true;
      expect(await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS))
        .to.be.false;
      await expect(consents.connect(patient).closeEmergencyAccess(newKey.address))
        .to.emit(consents, "EmergencyAccessClosed")
        .withArgs(patient.address, emergencyDoctor.address, patient.address);
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.ETREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should key a window opened by the new key by the id, and refuse it when the id was denied", async function () {
      const { consents, providers, patient, emergencyDoctor, newKey } = await loadFixture(deployScenario);
      await rotateKey(providers, emergencyDoctor, newKey);
      await expect(consents.connect(newKey).emergencyAccess(patient.address, REASON))
        .to.emit(consents, "EmergencyAccessOpened")
        .withArgs(patient.address, emergencyDoctor.address, anyUint, anyUint, REASON);
      await consents.connect(patient).closeEmergencyAccess(emergencyDoctor.address);

      await consents.connect(patient).deny(emergencyDoctor.address, ANY_CATEGORY);
      await expect(consents.connect(newKey).emergencyAccess(patient.address, REASON))
        .to.be.revertedWithCustomError(consents, "EmergencyAccessRefused")
        .withArgs(patient.address, newKey.address);
    });

    it("should refuse break-glass access to the retired key", async function () {
      const { consents, providers, patient, emergencyDoctor, newKey } = await loadFixture(deployScenario);
      await rotateKey(providers, emergencyDoctor, newKey);
      await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON))
        .to.be.revertedWithCustomError(consents, "NotEmergencyProvider")
        .withArgs(emergencyDoctor.address);
    });
  });

  describe("break-glass access", function () {
    describe("setEmergencyAccess", function () {
      it("should be allowed by default", async function () {
        const { consents, patient } = await loadFixture(deployScenario);
        expect(await consents.emergencyAccessAllowed(patient.address)).to.be.true;
      });

      it("should let the patient refuse and allow it again, emitting EmergencyAccessSet", async function () {
        const { consents, patient } = await loadFixture(deployScenario);
        await expect(consents.connect(patient).setEmergencyAccess(false))
          .to.emit(consents, "EmergencyAccessSet")
          .withArgs(patient.address, false, patient.address);
        expect(await consents.emergencyAccessAllowed(patient.address)).to.be.false;
        await expect(consents.connect(patient).setEmergencyAccess(true))
          .to.emit(consents, "EmergencyAccessSet")
          .withArgs(patient.address, true, patient.address);
        expect(await consents.emergencyAccessAllowed(patient.address)).to.be.true;
      });

      it("should let a delegate set it for the patient", async function () {
        const { consents, patient, delegate } = await loadFixture(deployScenario);
        await expect(consents.connect(delegate).setEmergencyAccessFor(patient.address, false))
          .to.emit(consents, "EmergencyAccessSet")
          .withArgs(patient.address, false, delegate.address);
        expect(await consents.emergencyAccessAllowed(patient.address)).to.be.false;
        expect(await consents.emergencyAccessAllowed(delegate.address)).to.be.true;
      });

      it("should revert with NotDelegate for a stranger, and for a delegate whose term ended", async function () {
        const { consents, patient, delegate, stranger } = await loadFixture(deployScenario);
        await expect(consents.connect(stranger).setEmergencyAccessFor(patient.address, false))
          .to.be.revertedWithCustomError(consents, "NotDelegate")
          .withArgs(patient.address, stranger.address);
        await time.increaseTo(await consents.delegateExpiry(patient.address, delegate.address));
        await expect(consents.connect(delegate).setEmergencyAccessFor(patient.address, false))
          .to.be.revertedWithCustomError(consents, "NotDelegate")
          .withArgs(patient.address, delegate.address);
        expect(await consents.emergencyAccessAllowed(patient.address)).to.be.true;
      });
    });

    describe("emergencyAccess", function () {
      it("should open a 24-hour window and emit EmergencyAccessOpened", async function () {
        const { consents, patient, emergencyDoctor } = await loadFixture(deployScenario);
        expect(await consents.EMERGENCY_WINDOW()).to.equal(DAY);
        const openedAt = (await time.latest()) + 50;
        await time.setNextBlockTimestamp(openedAt);
        await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON))
          .to.emit(consents, "EmergencyAccessOpened")
          .withArgs(patient.address, emergencyDoctor.address, openedAt, openedAt + DAY, REASON);
        expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(openedAt + DAY);
      });

      it("should authorise ETREAT/ACCESS on any category during the window, and nothing else", async function () {
        const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
        const doc = emergencyDoctor.address;
        for (const category of [LAB, IMAGING, MENTAL, ethers.id("record:any")]) {
          expect(await consents.isAuthorized(patient.address, doc, category, Purpose.ETREAT, Action.ACCESS)).to.be.true;
        }
        // ANY_CATEGORY is a scope of consents, never the category of data: not even break-glass opens it.
        expect(await consents.isAuthorized(patient.address, doc, ANY_CATEGORY, Purpose.ETREAT, Action.ACCESS)).to.be
          .false;
        for (const purpose of PURPOSES) {
          for (const action of ACTIONS) {
            const expected = purpose === Purpose.ETREAT && action === Action.ACCESS;
            expect(await consents.isAuthorized(patient.address, doc, LAB, purpose, action)).to.equal(
              expected,
              `${Purpose[purpose]}/${Action[action]}`,
            );
          }
        }
        const treatOrEmergency = purposeMask(Purpose.TREAT, Purpose.ETREAT);
        expect(await consents.isAuthorizedForAny(patient.address, doc, LAB, treatOrEmergency, Action.ACCESS)).to.be
          .true;
        expect(await consents.isAuthorizedForAny(patient.address, doc, LAB, purposeMask(Purpose.TREAT), Action.ACCESS))
          .to.be.false;
        expect(await consents.isAuthorizedForAny(patient.address, doc, LAB, treatOrEmergency, Action.USE)).to.be.false;
      });

      it("should authorise only the provider that opened it, on only that patient", async function () {
        const { consents, providers, registrar, patient, emergencyDoctor, clinic, other } =
          await loadFixture(deployWithEmergencyOpen);
        await providers.connect(registrar).setCapabilities(clinic.address, Capability.EMERGENCY);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.ETREAT, Action.ACCESS)).to.be
          .false;
        expect(await consents.isAuthorized(other.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS))
          .to.be.false;
      });

      it("should expire exactly 24 hours after opening", async function () {
        const { consents, patient, emergencyDoctor, expiresAt } = await loadFixture(deployWithEmergencyOpen);
        const doc = emergencyDoctor.address;
        await time.increaseTo(expiresAt - 1);
        expect(await consents.isAuthorized(patient.address, doc, LAB, Purpose.ETREAT, Action.ACCESS)).to.be.true;
        await time.increaseTo(expiresAt);
        expect(await consents.isAuthorized(patient.address, doc, LAB, Purpose.ETREAT, Action.ACCESS)).to.be.false;
        expect(await consents.emergencyAccessExpiry(patient.address, doc)).to.equal(expiresAt);
      });

      it("should let the provider open a new window after the last one expired", async function () {
        const { consents, patient, emergencyDoctor, expiresAt } = await loadFixture(deployWithEmergencyOpen);
        await time.increaseTo(expiresAt + 10);
        await consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON);
        expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(
          (await time.latest()) + DAY,
        );
        expect(
          await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
        ).to.be.true;
      });

      it("should survive revokeAll, which ends permits only", async function () {
        const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
        await consents.connect(patient).revokeAll();
        expect(
          await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
        ).to.be.true;
      });

      context("when the caller is not an active provider with the emergency capability", function () {
        it("should revert with NotEmergencyProvider for a provider without the capability", async function () {
          const { consents, patient, clinic } = await loadFixture(deployScenario);
          await expect(consents.connect(clinic).emergencyAccess(patient.address, REASON))
            .to.be.revertedWithCustomError(consents, "NotEmergencyProvider")
            .withArgs(clinic.address);
        });

        it("should revert with NotEmergencyProvider for an unregistered caller", async function () {
          const { consents, patient, stranger } = await loadFixture(deployScenario);
          await expect(consents.connect(stranger).emergencyAccess(patient.address, REASON))
            .to.be.revertedWithCustomError(consents, "NotEmergencyProvider")
            .withArgs(stranger.address);
        });

        it("should revert with NotEmergencyProvider for a suspended provider", async function () {
          const { consents, providers, registrar, patient, emergencyDoctor } = await loadFixture(deployScenario);
          await providers.connect(registrar).suspend(emergencyDoctor.address, SUSPENSION);
          await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON))
            .to.be.revertedWithCustomError(consents, "NotEmergencyProvider")
            .withArgs(emergencyDoctor.address);
        });
      });

      context("when the patient refused", function () {
        it("should revert with EmergencyAccessRefused when the patient opted out", async function () {
          const { consents, patient, emergencyDoctor } = await loadFixture(deployScenario);
          await consents.connect(patient).setEmergencyAccess(false);
          await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON))
            .to.be.revertedWithCustomError(consents, "EmergencyAccessRefused")
            .withArgs(patient.address, emergencyDoctor.address);
        });

        it("should open again once the patient allows it again", async function () {
          const { consents, patient, emergencyDoctor } = await loadFixture(deployScenario);
          await consents.connect(patient).setEmergencyAccess(false);
          await consents.connect(patient).setEmergencyAccess(true);
          await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON)).to.emit(
            consents,
            "EmergencyAccessOpened",
          );
        });

        it("should revert with EmergencyAccessRefused when the patient denied the provider ANY_CATEGORY", async function () {
          const { consents, patient, emergencyDoctor } = await loadFixture(deployScenario);
          await consents.connect(patient).deny(emergencyDoctor.address, ANY_CATEGORY);
          await expect(consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON))
            .to.be.revertedWithCustomError(consents, "EmergencyAccessRefused")
            .withArgs(patient.address, emergencyDoctor.address);
        });

        it("should revert with EmergencyAccessRefused when the provider names itself as the patient", async function () {
          const { consents, emergencyDoctor } = await loadFixture(deployScenario);
          await expect(consents.connect(emergencyDoctor).emergencyAccess(emergencyDoctor.address, REASON))
            .to.be.revertedWithCustomError(consents, "EmergencyAccessRefused")
            .withArgs(emergencyDoctor.address, emergencyDoctor.address);
        });
      });

      it("should keep a category the patient denied the provider closed during the window", async function () {
        const { consents, patient, emergencyDoctor } = await loadFixture(deployScenario);
        await consents.connect(patient).deny(emergencyDoctor.address, MENTAL);
        await consents.connect(emergencyDoctor).emergencyAccess(patient.address, REASON);
        const doc = emergencyDoctor.address;
        expect(await consents.isAuthorized(patient.address, doc, MENTAL, Purpose.ETREAT, Action.ACCESS)).to.be.false;
        expect(await consents.isAuthorized(patient.address, doc, LAB, Purpose.ETREAT, Action.ACCESS)).to.be.true;
        await expect(
          consents
            .connect(emergencyDoctor)
            .recordAccess(patient.address, MENTAL, Purpose.ETREAT, Action.ACCESS, RECORD),
        )
          .to.be.revertedWithCustomError(consents, "NotAuthorized")
          .withArgs(patient.address, doc, MENTAL, Purpose.ETREAT, Action.ACCESS);
      });

      context("when something changes during the window", function () {
        it("should stop authorising when the patient opts out", async function () {
          const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
          await consents.connect(patient).setEmergencyAccess(false);
          expect(
            await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
          ).to.be.false;
        });

        it("should not revive the window when the patient allows break-glass access again", async function () {
          const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
          await consents.connect(patient).setEmergencyAccess(false);
          await consents.connect(patient).setEmergencyAccess(true);
          expect(
            await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
          ).to.be.false;
          expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(0);
          await expect(consents.connect(patient).closeEmergencyAccess(emergencyDoctor.address))
            .to.be.revertedWithCustomError(consents, "NoEmergencyAccess")
            .withArgs(patient.address, emergencyDoctor.address);
        });

        it("should authorise a window opened after access was allowed again", async function () {
          const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
          await consents.connect(patient).setEmergencyAccess(false);
          await consents.connect(patient).setEmergencyAccess(true);
          await consents.connect(emergencyDoctor).emergencyAccess(patient.address, ethers.id("second"));
          expect(
            await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
          ).to.be.true;
        });

        it("should stop authorising when a delegate opts the patient out", async function () {
          const { consents, patient, delegate, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
          await consents.connect(delegate).setEmergencyAccessFor(patient.address, false);
          expect(
            await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
          ).to.be.false;
        });

        it("should stop authorising when the patient denies the provider ANY_CATEGORY", async function () {
          const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
          await consents.connect(patient).deny(emergencyDoctor.address, ANY_CATEGORY);
          expect(
            await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
          ).to.be.false;
        });

        it("should stop authorising when the emergency capability is removed", async function () {
          const { consents, providers, registrar, patient, emergencyDoctor } =
            await loadFixture(deployWithEmergencyOpen);
          await providers.connect(registrar).setCapabilities(emergencyDoctor.address, Capability.TREATMENT);
          expect(
            await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
          ).to.be.false;
        });

        it("should stop authorising when the provider is suspended", async function () {
          const { consents, providers, registrar, patient, emergencyDoctor } =
            await loadFixture(deployWithEmergencyOpen);
          await providers.connect(registrar).suspend(emergencyDoctor.address, SUSPENSION);
          expect(
            await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
          ).to.be.false;
          await expect(
            consents.connect(emergencyDoctor).recordAccess(patient.address, LAB, Purpose.ETREAT, Action.ACCESS, RECORD),
          ).to.be.revertedWithCustomError(consents, "NotAuthorized");
        });
      });
    });

    describe("closeEmergencyAccess", function () {
      it("should let the patient end the window early, emitting EmergencyAccessClosed", async function () {
        const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
        await expect(consents.connect(patient).closeEmergencyAccess(emergencyDoctor.address))
          .to.emit(consents, "EmergencyAccessClosed")
          .withArgs(patient.address, emergencyDoctor.address, patient.address);
        expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(0);
        expect(
          await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
        ).to.be.false;
      });

      it("should let a delegate end it for the patient", async function () {
        const { consents, patient, delegate, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
        await expect(consents.connect(delegate).closeEmergencyAccessFor(patient.address, emergencyDoctor.address))
          .to.emit(consents, "EmergencyAccessClosed")
          .withArgs(patient.address, emergencyDoctor.address, delegate.address);
        expect(
          await consents.isAuthorized(patient.address, emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
        ).to.be.false;
      });

      it("should revert with NotDelegate when a stranger tries to end it", async function () {
        const { consents, patient, stranger, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
        await expect(consents.connect(stranger).closeEmergencyAccessFor(patient.address, emergencyDoctor.address))
          .to.be.revertedWithCustomError(consents, "NotDelegate")
          .withArgs(patient.address, stranger.address);
      });

      it("should revert with NoEmergencyAccess when none is open", async function () {
        const { consents, patient, delegate, emergencyDoctor } = await loadFixture(deployScenario);
        await expect(consents.connect(patient).closeEmergencyAccess(emergencyDoctor.address))
          .to.be.revertedWithCustomError(consents, "NoEmergencyAccess")
          .withArgs(patient.address, emergencyDoctor.address);
        await expect(consents.connect(delegate).closeEmergencyAccessFor(patient.address, emergencyDoctor.address))
          .to.be.revertedWithCustomError(consents, "NoEmergencyAccess")
          .withArgs(patient.address, emergencyDoctor.address);
      });

      it("should revert with NoEmergencyAccess when it is already closed", async function () {
        const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
        await consents.connect(patient).closeEmergencyAccess(emergencyDoctor.address);
        await expect(consents.connect(patient).closeEmergencyAccess(emergencyDoctor.address))
          .to.be.revertedWithCustomError(consents, "NoEmergencyAccess")
          .withArgs(patient.address, emergencyDoctor.address);
      });

      it("should revert with NoEmergencyAccess when it expired, from the very second of expiry", async function () {
        const { consents, patient, emergencyDoctor, expiresAt } = await loadFixture(deployWithEmergencyOpen);
        await time.setNextBlockTimestamp(expiresAt);
        await expect(consents.connect(patient).closeEmergencyAccess(emergencyDoctor.address))
          .to.be.revertedWithCustomError(consents, "NoEmergencyAccess")
          .withArgs(patient.address, emergencyDoctor.address);
      });

      it("should still close it one second before expiry", async function () {
        const { consents, patient, emergencyDoctor, expiresAt } = await loadFixture(deployWithEmergencyOpen);
        await time.setNextBlockTimestamp(expiresAt - 1);
        await expect(consents.connect(patient).closeEmergencyAccess(emergencyDoctor.address)).to.emit(
          consents,
          "EmergencyAccessClosed",
        );
      });
    });

    describe("emergencyAccessExpiry", function () {
      it("should be zero when no window was ever opened", async function () {
        const { consents, patient, emergencyDoctor, stranger } = await loadFixture(deployScenario);
        expect(await consents.emergencyAccessExpiry(patient.address, emergencyDoctor.address)).to.equal(0);
        expect(await consents.emergencyAccessExpiry(patient.address, stranger.address)).to.equal(0);
      });
    });
  });

  describe("recordAccess", function () {
    it("should emit AccessRecorded with every field when the caller is authorised", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, patient, clinic } = fixture;
      await grant(fixture, clinic.address, ANY_CATEGORY, {
        purposes: purposeMask(Purpose.TREAT, Purpose.CAREMGT),
        actions: actionMask(Action.ACCESS, Action.USE),
      });
      await expect(consents.connect(clinic).recordAccess(patient.address, IMAGING, Purpose.CAREMGT, Action.USE, RECORD))
        .to.emit(consents, "AccessRecorded")
        .withArgs(patient.address, clinic.address, IMAGING, Purpose.CAREMGT, Action.USE, RECORD);
      await expect(
        consents.connect(clinic).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, ethers.ZeroHash),
      )
        .to.emit(consents, "AccessRecorded")
        .withArgs(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS, ethers.ZeroHash);
    });

    it("should emit the provider id as grantee when called from a rotated key", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, providers, patient, clinic, newKey } = fixture;
      await rotateKey(providers, clinic, newKey);
      await grant(fixture, newKey.address, LAB);
      await expect(consents.connect(newKey).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD))
        .to.emit(consents, "AccessRecorded")
        .withArgs(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD);
    });

    it("should revert with NotAuthorized when no consent covers the access", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, patient, clinic, stranger } = fixture;
      await grant(fixture, clinic.address, LAB);
      const refusals: [string, string, Purpose, Action][] = [
        [stranger.address, LAB, Purpose.TREAT, Action.ACCESS], // no consent at all
        [clinic.address, IMAGING, Purpose.TREAT, Action.ACCESS], // another category
        [clinic.address, LAB, Purpose.HRESCH, Action.ACCESS], // another purpose
        [clinic.address, LAB, Purpose.TREAT, Action.DISCLOSE], // another action
      ];
      for (const [caller, category, purpose, action] of refusals) {
        const signer = caller === clinic.address ? clinic : stranger;
        await expect(consents.connect(signer).recordAccess(patient.address, category, purpose, action, RECORD))
          .to.be.revertedWithCustomError(consents, "NotAuthorized")
          .withArgs(patient.address, caller, category, purpose, action);
      }
    });

    it("should revert with NotAuthorized once the consent was revoked", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, patient, clinic } = fixture;
      await grant(fixture, clinic.address, LAB);
      await consents.connect(clinic).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD);
      await consents.connect(patient).revoke(clinic.address, LAB);
      await expect(consents.connect(clinic).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD))
        .to.be.revertedWithCustomError(consents, "NotAuthorized")
        .withArgs(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS);
    });

    it("should revert with NotAuthorized from the second the consent expires", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, patient, clinic } = fixture;
      const expiresAt = (await time.latest()) + DAY;
      await consents
        .connect(patient)
        .grant(clinic.address, LAB, TREAT_ACCESS.purposes, TREAT_ACCESS.actions, 0, expiresAt);
      await time.setNextBlockTimestamp(expiresAt - 1);
      await expect(
        consents.connect(clinic).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD),
      ).to.emit(consents, "AccessRecorded");
      await expect(consents.connect(clinic).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD))
        .to.be.revertedWithCustomError(consents, "NotAuthorized")
        .withArgs(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS);
    });

    it("should accept ETREAT/ACCESS during an emergency window, and refuse other purposes", async function () {
      const { consents, patient, emergencyDoctor } = await loadFixture(deployWithEmergencyOpen);
      await expect(
        consents.connect(emergencyDoctor).recordAccess(patient.address, MENTAL, Purpose.ETREAT, Action.ACCESS, RECORD),
      )
        .to.emit(consents, "AccessRecorded")
        .withArgs(patient.address, emergencyDoctor.address, MENTAL, Purpose.ETREAT, Action.ACCESS, RECORD);
      await expect(
        consents.connect(emergencyDoctor).recordAccess(patient.address, MENTAL, Purpose.TREAT, Action.ACCESS, RECORD),
      )
        .to.be.revertedWithCustomError(consents, "NotAuthorized")
        .withArgs(patient.address, emergencyDoctor.address, MENTAL, Purpose.TREAT, Action.ACCESS);
      await expect(
        consents
          .connect(emergencyDoctor)
          .recordAccess(patient.address, MENTAL, Purpose.ETREAT, Action.DISCLOSE, RECORD),
      )
        .to.be.revertedWithCustomError(consents, "NotAuthorized")
        .withArgs(patient.address, emergencyDoctor.address, MENTAL, Purpose.ETREAT, Action.DISCLOSE);
    });

    it("should write no storage", async function () {
      const fixture = await loadFixture(deployScenario);
      const { consents, patient, clinic } = fixture;
      await grant(fixture, clinic.address, LAB);
      const first = await consents
        .connect(clinic)
        .recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD);
      const second = await consents
        .connect(clinic)
        .recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, RECORD);
      const [firstReceipt, secondReceipt] = [await first.wait(), await second.wait()];
      // Any storage write would make the first call cost at least 2,900 gas more than an identical second one.
      expect(firstReceipt!.gasUsed).to.equal(secondReceipt!.gasUsed);

      const trace = (await network.provider.send("debug_traceTransaction", [
        first.hash,
        { disableMemory: true, disableStack: true, disableStorage: true },
      ])) as { structLogs: { op: string }[] };
      const opcodes = new Set(trace.structLogs.map((log) => log.op));
      expect(opcodes.has("LOG3")).to.be.true; // the trace is of the call that emitted AccessRecorded
      expect(opcodes.has("SSTORE")).to.be.false;
      expect(opcodes.has("TSTORE")).to.be.false;
    });
  });
});
