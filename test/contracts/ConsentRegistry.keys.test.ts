/**
 * Specification of consents across a provider's keys: a delegate is compared with a grantee by provider id, a deny
 * follows the provider through every rotation (including a deny given to an address before it became one of the
 * provider's keys), and a signature can neither grant past nor lift a deny kept under the provider's id.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";

import { Action, actionMask, ANY_CATEGORY, categoryId, ConsentStatus, Purpose, purposeMask } from "../../src/codes";
import { consentDomain, signGrant, signRevoke } from "../../src/eip712";
import { DAY, deployWithDelegateAndKeys, rotateKey } from "../helpers/fixtures";
import { statusOf } from "../helpers/consents";

const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");
const TREAT = purposeMask(Purpose.TREAT, Purpose.ETREAT);
const ACCESS = actionMask(Action.ACCESS);
const REASON = ethers.id("unconscious patient admitted to ER");

/** {deployWithDelegateAndKeys}, with the patient's permits on LAB and IMAGING to `clinic`'s id, for a year. */
async function deployWithPermits() {
  const fixture = await deployWithDelegateAndKeys();
  const { consents, patient, clinic } = fixture;
  const expiresAt = (await time.latest()) + 365 * DAY;
  for (const category of [LAB, IMAGING]) {
    await consents.connect(patient).grant(clinic.address, category, TREAT, ACCESS, 0, expiresAt);
  }
  const { chainId } = await ethers.provider.getNetwork();
  const domain = consentDomain(chainId, await consents.getAddress());
  return { ...fixture, expiresAt, domain, deadline: (await time.latest()) + DAY };
}

describe("ConsentRegistry across a provider's keys", function () {
  describe("a delegate that is a key of the grantee's provider", function () {
    it("should revert with DelegateIsGrantee when the delegate is the provider's current key and names its id", async function () {
      const { consents, providers, patient, clinic, newKey, expiresAt } = await loadFixture(deployWithPermits);
      await rotateKey(providers, clinic, newKey);
      await consents.connect(patient).setDelegate(newKey.address, expiresAt);
      const calls = [
        () => consents.connect(newKey).grantFor(patient.address, clinic.address, LAB, TREAT, ACCESS, 0, expiresAt),
        () => consents.connect(newKey).revokeFor(patient.address, clinic.address, LAB),
        () => consents.connect(newKey).denyFor(patient.address, clinic.address, IMAGING),
      ];
      for (const call of calls) {
        await expect(call()).to.be.revertedWithCustomError(consents, "DelegateIsGrantee").withArgs(newKey.address);
      }
    });

    it("should revert with DelegateIsGrantee when the delegate is a retired key and names the current one", async function () {
      const { consents, providers, patient, clinic, newKey, newerKey, expiresAt } =
        await loadFixture(deployWithPermits);
      await consents.connect(patient).setDelegate(clinic.address, expiresAt);
      await rotateKey(providers, clinic, newKey);
      await rotateKey(providers, newKey, newerKey);
      for (const grantee of [newKey.address, newerKey.address]) {
        await expect(
          consents.connect(clinic).grantFor(patient.address, grantee, LAB, TREAT, ACCESS, 0, expiresAt),
        ).to.be.revertedWithCustomError(consents, "DelegateIsGrantee");
        await expect(consents.connect(clinic).denyFor(patient.address, grantee, LAB))
          .to.be.revertedWithCustomError(consents, "DelegateIsGrantee")
          .withArgs(clinic.address);
      }
    });

    it("should let a provider's key act as delegate for another provider", async function () {
      const { consents, providers, patient, clinic, emergencyDoctor, newKey, expiresAt } =
        await loadFixture(deployWithPermits);
      await rotateKey(providers, clinic, newKey);
      await consents.connect(patient).setDelegate(newKey.address, expiresAt);
      await expect(
        consents.connect(newKey).grantFor(patient.address, emergencyDoctor.address, LAB, TREAT, ACCESS, 0, expiresAt),
      )
        .to.emit(consents, "ConsentGranted")
        .withArgs(
          patient.address,
          emergencyDoctor.address,
          LAB,
          TREAT,
          ACCESS,
          anyUint,
          expiresAt,
          newKey.address,
          false,
        );
    });
  });

  describe("a deny given to an address before it became a provider's key", function () {
    /** {deployWithPermits}, with `newKey` denied LAB (and ANY_CATEGORY when `all`) while it was nobody's key. */
    async function deployWithDeniedNewcomer() {
      const fixture = await deployWithPermits();
      const { consents, patient, newKey, providers } = fixture;
      expect((await providers.resolve(newKey.address)).status).to.equal(0);
      await consents.connect(patient).deny(newKey.address, LAB);
      return fixture;
    }

    it("should apply to the provider while that key is current", async function () {
      const { consents, providers, patient, clinic, newKey } = await loadFixture(deployWithDeniedNewcomer);
      await rotateKey(providers, clinic, newKey);
      expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await consents.isAuthorized(patient.address, newKey.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should keep applying to the provider after a later rotation", async function () {
      const { consents, providers, patient, clinic, newKey, newerKey } = await loadFixture(deployWithDeniedNewcomer);
      await rotateKey(providers, clinic, newKey);
      await rotateKey(providers, newKey, newerKey);
      expect(await providers.keysOf(clinic.address)).to.deep.equal([clinic.address, newKey.address, newerKey.address]);
      expect(await consents.isAuthorized(patient.address, newerKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      await expect(
        consents.connect(newerKey).recordAccess(patient.address, LAB, Purpose.TREAT, Action.ACCESS, ethers.ZeroHash),
      )
        .to.be.revertedWithCustomError(consents, "NotAuthorized")
        .withArgs(patient.address, newerKey.address, LAB, Purpose.TREAT, Action.ACCESS);
      // Other categories, permitted to the provider's id, stay open.
      expect(await consents.isAuthorized(patient.address, newerKey.address, IMAGING, Purpose.TREAT, Action.ACCESS)).to
        .be.true;
    });

    it("should, for ANY_CATEGORY, keep the provider out of break-glass after a later rotation", async function () {
      const { consents, providers, patient, emergencyDoctor, newKey, newerKey } =
        await loadFixture(deployWithDeniedNewcomer);
      await consents.connect(patient).deny(newKey.address, ANY_CATEGORY);
      await rotateKey(providers, emergencyDoctor, newKey);
      await rotateKey(providers, newKey, newerKey);
      await expect(consents.connect(newerKey).emergencyAccess(patient.address, REASON))
        .to.be.revertedWithCustomError(consents, "EmergencyAccessRefused")
        .withArgs(patient.address, newerKey.address);
    });

    it("should not apply to a provider whose keys never included that address", async function () {
      const { consents, providers, patient, clinic, newerKey } = await loadFixture(deployWithDeniedNewcomer);
      await rotateKey(providers, clinic, newerKey);
      expect(await consents.isAuthorized(patient.address, newerKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });
  });

  describe("signatures against a deny kept under the provider's id", function () {
    /** A grant of LAB from `patient` to `grantee`, signed with the key's current nonce. */
    async function signedGrantTo(fixture: Awaited<ReturnType<typeof deployWithPermits>>, grantee: string) {
      const { consents, patient, domain, deadline, expiresAt } = fixture;
      const request = {
        patient: patient.address,
        grantee,
        category: LAB,
        purposes: TREAT,
        actions: ACCESS,
        notBefore: 0,
        expiresAt,
      };
      const nonce = await consents.signatureNonce(patient.address, grantee, LAB);
      return { request, signature: await signGrant(patient, domain, request, nonce, deadline) };
    }

    for (const [label, denied] of [
      ["the category", LAB],
      ["ANY_CATEGORY", ANY_CATEGORY],
    ] as const) {
      it(`should refuse a signed grant to a rotated key while the id holds a deny of ${label}, storing nothing`, async function () {
        const fixture = await loadFixture(deployWithPermits);
        const { consents, providers, patient, clinic, newKey, relayer, deadline } = fixture;
        await rotateKey(providers, clinic, newKey);
        await consents.connect(patient).deny(clinic.address, denied);
        const { request, signature } = await signedGrantTo(fixture, newKey.address);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
          .to.be.revertedWithCustomError(consents, "DenyInForce")
          .withArgs(patient.address, newKey.address, LAB);
        // Nothing dormant under the key: lifting the deny revives nothing the signature asked for.
        await consents.connect(patient).revoke(clinic.address, denied);
        if (denied !== LAB) await consents.connect(patient).revoke(clinic.address, LAB); // the id's own permit
        expect(await consents.signatureNonce(patient.address, newKey.address, LAB)).to.equal(0); // nothing written
        expect(await consents.isAuthorized(patient.address, newKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
      });
    }

    it("should refuse a signed grant to the provider's id while a key it adopted holds an older deny", async function () {
      const fixture = await loadFixture(deployWithPermits);
      const { consents, providers, patient, clinic, newKey, relayer, deadline } = fixture;
      await consents.connect(patient).deny(newKey.address, LAB);
      await rotateKey(providers, clinic, newKey);
      const { request, signature } = await signedGrantTo(fixture, clinic.address);
      await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
        .to.be.revertedWithCustomError(consents, "DenyInForce")
        .withArgs(patient.address, clinic.address, LAB);
    });

    it("should let a signed grant to a rotated key land when no deny blocks it", async function () {
      const fixture = await loadFixture(deployWithPermits);
      const { consents, providers, patient, clinic, newKey, relayer, deadline } = fixture;
      await rotateKey(providers, clinic, newKey);
      await consents.connect(patient).deny(clinic.address, IMAGING);
      const { request, signature } = await signedGrantTo(fixture, newKey.address);
      await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
        .to.emit(consents, "ConsentGranted")
        .withArgs(
          patient.address,
          newKey.address,
          LAB,
          TREAT,
          ACCESS,
          anyUint,
          request.expiresAt,
          relayer.address,
          true,
        );
    });

    it("should refuse a signed revocation, through a rotated key, of a deny kept under the id", async function () {
      const { consents, providers, patient, clinic, newKey, relayer, domain, deadline } =
        await loadFixture(deployWithPermits);
      await rotateKey(providers, clinic, newKey);
      await consents.connect(patient).deny(newKey.address, LAB); // kept under the id
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Denied);
      const revoke = { patient: patient.address, grantee: newKey.address, category: LAB };
      const nonce = await consents.signatureNonce(patient.address, newKey.address, LAB);
      const signature = await signRevoke(patient, domain, revoke, nonce, deadline);
      await expect(consents.connect(relayer).revokeWithSig(patient.address, newKey.address, LAB, deadline, signature))
        .to.be.revertedWithCustomError(consents, "DenyInForce")
        .withArgs(patient.address, newKey.address, LAB);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Denied);
    });

    it("should use up a signed revocation through a rotated key even when the permit was kept under the id", async function () {
      const { consents, providers, patient, clinic, newKey, relayer, domain, deadline, expiresAt } =
        await loadFixture(deployWithPermits);
      await rotateKey(providers, clinic, newKey);
      const revoke = { patient: patient.address, grantee: newKey.address, category: LAB };
      const signature = await signRevoke(patient, domain, revoke, 0, deadline);
      await expect(consents.connect(relayer).revokeWithSig(patient.address, newKey.address, LAB, deadline, signature))
        .to.emit(consents, "ConsentRevoked")
        .withArgs(patient.address, clinic.address, LAB, relayer.address, true);
      expect(await consents.signatureNonce(patient.address, newKey.address, LAB)).to.equal(1);
      // The patient grants again: the old signature cannot be replayed against the new permit.
      await consents.connect(patient).grant(clinic.address, LAB, TREAT, ACCESS, 0, expiresAt);
      await expect(
        consents.connect(relayer).revokeWithSig(patient.address, newKey.address, LAB, deadline, signature),
      ).to.be.revertedWithCustomError(consents, "InvalidSignature");
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
    });
  });
});
