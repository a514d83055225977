/**
 * Specification of ConsentRegistry's signed path ("consent from any wallet"): grantWithSig, revokeWithSig, per-key
 * signature nonces, cancelSignatures and the ERC-5267 domain, for EOAs (a test signer and a raw private key) and an
 * ERC-1271 smart wallet.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, Signature, TypedDataEncoder, Wallet, type TypedDataDomain } from "ethers";

import type { ConsentRegistry, ERC1271Wallet } from "../../typechain-types";
import { Action, actionMask, ANY_CATEGORY, categoryId, ConsentStatus, Purpose, purposeMask } from "../../src/codes";
import {
  consentDomain,
  DOMAIN_NAME,
  DOMAIN_VERSION,
  GRANT_TYPES,
  grantDigest,
  type GrantRequest,
  recoverGrantSigner,
  REVOKE_TYPES,
  signGrant,
  signRevoke,
} from "../../src/eip712";
import { DAY, deployRegistries } from "../helpers/fixtures";
import { consentView, statusOf } from "../helpers/consents";

const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");
const PURPOSES = purposeMask(Purpose.TREAT, Purpose.CAREMGT);
const ACTIONS = actionMask(Action.ACCESS, Action.USE);
const ALL_TREATMENT = purposeMask(Purpose.TREAT, Purpose.ETREAT, Purpose.CAREMGT);

/** The type strings as written in src/eip712.ts. */
const GRANT_TYPE =
  "Grant(address patient,address grantee,bytes32 category,uint32 purposes,uint8 actions,uint40 notBefore,uint40 expiresAt,uint256 nonce,uint256 deadline)";
const REVOKE_TYPE = "Revoke(address patient,address grantee,bytes32 category,uint256 nonce,uint256 deadline)";

/** A known private key, for a patient whose wallet only signs (it holds no ether and sends nothing). */
const PATIENT_KEY = ethers.id("consent-registry signatures test: patient key");

/** The order of the secp256k1 group. */
const SECP256K1_N = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
const ECRECOVER = "0x0000000000000000000000000000000000000001";

/** Deploys the registries, an unfunded key-only patient and an ERC-1271 wallet owned by `walletOwner`. */
async function deploySigned() {
  const fixture = await deployRegistries();
  const { chainId } = await ethers.provider.getNetwork();
  const registry = await fixture.consents.getAddress();
  const domain = consentDomain(chainId, registry);
  const keyPatient = new Wallet(PATIENT_KEY);
  const walletOwner = fixture.other;
  const wallet = (await ethers.deployContract("ERC1271Wallet", [walletOwner.address])) as unknown as ERC1271Wallet;
  const walletAddress = await wallet.getAddress();
  const now = await time.latest();
  return {
    ...fixture,
    chainId,
    registry,
    domain,
    keyPatient,
    walletOwner,
    wallet,
    walletAddress,
    expiresAt: now + 30 * DAY,
    deadline: now + DAY,
  };
}

/** A grant of PURPOSES/ACTIONS on LAB from now (notBefore 0) until `expiresAt`. */
function grantRequest(patient: string, grantee: string, expiresAt: number, changes: Partial<GrantRequest> = {}) {
  return {
    patient,
    grantee,
    category: LAB,
    purposes: PURPOSES,
    actions: ACTIONS,
    notBefore: 0,
    expiresAt,
    ...changes,
  } satisfies GrantRequest;
}

/** The ERC1271Wallet's signature: `abi.encode(address signer, bytes ecdsaSignature)`. */
function walletSignature(signer: string, ecdsaSignature: string): string {
  return AbiCoder.defaultAbiCoder().encode(["address", "bytes"], [signer, ecdsaSignature]);
}

/** Pins the time of the next block, a little after the latest, and returns it. */
async function pinNextBlockTime(): Promise<number> {
  const at = (await time.latest()) + 10;
  await time.setNextBlockTimestamp(at);
  return at;
}

/** The nonce the next signature for the key of `request` must carry. */
function nonceOf(consents: ConsentRegistry, request: { patient: string; grantee: string; category: string }) {
  return consents.signatureNonce(request.patient, request.grantee, request.category);
}

/** The nonce of a key whose patient cancelled `epoch` times and whose key saw `sequence` decisions. */
function nonceWith(epoch: number, sequence: number): bigint {
  return (BigInt(epoch) << 128n) | BigInt(sequence);
}

/** The logs of a transaction, without what differs between two deployments' transactions. */
async function logsOf(tx: Promise<{ wait(): Promise<unknown> }>) {
  const receipt = (await (await tx).wait()) as { logs: { address: string; topics: readonly string[]; data: string }[] };
  return receipt.logs.map(({ address, topics, data }) => ({ address, topics: [...topics], data }));
}

describe("ConsentRegistry: signed consents (EIP-712)", function () {
  describe("eip712Domain (ERC-5267)", function () {
    it("should describe the domain: name ConsentRegistry, version 1, the chain id and the registry", async function () {
      const { consents, chainId, registry } = await loadFixture(deploySigned);
      const domain = await consents.eip712Domain();
      expect(domain.fields).to.equal("0x0f"); // name, version, chainId, verifyingContract
      expect(domain.name).to.equal("ConsentRegistry");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal(chainId);
      expect(domain.verifyingContract).to.equal(registry);
      expect(domain.salt).to.equal(ethers.ZeroHash);
      expect(domain.extensions).to.deep.equal([]);
    });

    it("should match the domain the SDK builds", async function () {
      const { consents, domain } = await loadFixture(deploySigned);
      const onChain = await consents.eip712Domain();
      expect(DOMAIN_NAME).to.equal(onChain.name);
      expect(DOMAIN_VERSION).to.equal(onChain.version);
      expect(domain).to.deep.equal({
        name: onChain.name,
        version: onChain.version,
        chainId: onChain.chainId,
        verifyingContract: onChain.verifyingContract,
      });
    });
  });

  describe("type hashes", function () {
    it("should have the SDK's Grant and Revoke types be exactly the type strings", async function () {
      expect(TypedDataEncoder.from(GRANT_TYPES).encodeType("Grant")).to.equal(GRANT_TYPE);
      expect(TypedDataEncoder.from(REVOKE_TYPES).encodeType("Revoke")).to.equal(REVOKE_TYPE);
    });

    it("should have GRANT_TYPEHASH be keccak256 of the Grant type string", async function () {
      const { consents } = await loadFixture(deploySigned);
      expect(await consents.GRANT_TYPEHASH()).to.equal(ethers.id(GRANT_TYPE));
    });

    it("should have REVOKE_TYPEHASH be keccak256 of the Revoke type string", async function () {
      const { consents } = await loadFixture(deploySigned);
      expect(await consents.REVOKE_TYPEHASH()).to.equal(ethers.id(REVOKE_TYPE));
    });
  });

  describe("signatureNonce", function () {
    it("should start every key at nonce 0", async function () {
      const { consents, patient, keyPatient, walletAddress, clinic, lab } = await loadFixture(deploySigned);
      for (const account of [patient.address, keyPatient.address, walletAddress]) {
        for (const grantee of [clinic.address, lab.address]) {
          expect(await consents.signatureNonce(account, grantee, LAB)).to.equal(0);
        }
      }
    });

    it("should give each key its own sequence, moved on by every decision on that key only", async function () {
      const { consents, patient, clinic, lab, expiresAt } = await loadFixture(deploySigned);
      await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
      expect(await consents.signatureNonce(patient.address, clinic.address, LAB)).to.equal(1);
      expect(await consents.signatureNonce(patient.address, clinic.address, IMAGING)).to.equal(0);
      expect(await consents.signatureNonce(patient.address, lab.address, LAB)).to.equal(0);
      await consents.connect(patient).deny(clinic.address, LAB);
      expect(await consents.signatureNonce(patient.address, clinic.address, LAB)).to.equal(2);
      await consents.connect(patient).revoke(clinic.address, LAB);
      expect(await consents.signatureNonce(patient.address, clinic.address, LAB)).to.equal(3);
      expect((await consentView(consents, patient.address, clinic.address, LAB)).sequence).to.equal(3);
      // revokeAll moves the epoch of signatures, not the sequences of keys.
      await consents.connect(patient).revokeAll();
      expect(await consents.signatureNonce(patient.address, clinic.address, LAB)).to.equal(nonceWith(1, 3));
      expect(await consents.signatureNonce(patient.address, lab.address, LAB)).to.equal(nonceWith(1, 0));
    });
  });

  describe("cancelling signatures", function () {
    /** Signatures from `patient` not submitted yet: a grant to `clinic` on LAB and a revocation of IMAGING. */
    async function deployWithUnsubmitted() {
      const fixture = await deploySigned();
      const { consents, patient, clinic, domain, expiresAt, deadline } = fixture;
      await consents.connect(patient).grant(clinic.address, IMAGING, PURPOSES, ACTIONS, 0, expiresAt);
      const request = grantRequest(patient.address, clinic.address, expiresAt);
      const revoke = { patient: patient.address, grantee: clinic.address, category: IMAGING };
      const grantSig = await signGrant(patient, domain, request, 0, deadline);
      const revokeSig = await signRevoke(patient, domain, revoke, 1, deadline);
      return { ...fixture, request, grantSig, revokeSig };
    }

    /** Expects both unsubmitted signatures of {deployWithUnsubmitted} to be refused. */
    async function expectCancelled(fixture: Awaited<ReturnType<typeof deployWithUnsubmitted>>) {
      const { consents, patient, clinic, relayer, request, grantSig, revokeSig, deadline } = fixture;
      await expect(consents.connect(relayer).grantWithSig(request, deadline, grantSig)).to.be.revertedWithCustomError(
        consents,
        "InvalidSignature",
      );
      await expect(
        consents.connect(relayer).revokeWithSig(patient.address, clinic.address, IMAGING, deadline, revokeSig),
      ).to.be.revertedWithCustomError(consents, "InvalidSignature");
    }

    it("should let both signatures land when nothing cancels them", async function () {
      const { consents, patient, clinic, relayer, request, grantSig, revokeSig, deadline } =
        await loadFixture(deployWithUnsubmitted);
      await expect(consents.connect(relayer).grantWithSig(request, deadline, grantSig)).to.emit(
        consents,
        "ConsentGranted",
      );
      await expect(
        consents.connect(relayer).revokeWithSig(patient.address, clinic.address, IMAGING, deadline, revokeSig),
      ).to.emit(consents, "ConsentRevoked");
    });

    it("should cancel every unsubmitted signature with cancelSignatures, and keep consents in force", async function () {
      const fixture = await loadFixture(deployWithUnsubmitted);
      const { consents, patient, clinic, relayer, request, domain, deadline } = fixture;
      await expect(consents.connect(patient).cancelSignatures())
        .to.emit(consents, "SignaturesCancelled")
        .withArgs(patient.address, 1, patient.address);
      await expectCancelled(fixture);
      expect(await statusOf(consents, patient.address, clinic.address, IMAGING)).to.equal(ConsentStatus.Active);
      expect(await consents.epochOf(patient.address)).to.equal(0);
      // A signature with the new nonce goes through.
      expect(await nonceOf(consents, request)).to.equal(nonceWith(1, 0));
      const fresh = await signGrant(patient, domain, request, nonceWith(1, 0), deadline);
      await expect(consents.connect(relayer).grantWithSig(request, deadline, fresh)).to.emit(
        consents,
        "ConsentGranted",
      );
      expect(await nonceOf(consents, request)).to.equal(nonceWith(1, 1));
    });

    it("should cancel them with cancelSignaturesFor, by a live delegate only", async function () {
      const fixture = await loadFixture(deployWithUnsubmitted);
      const { consents, patient, delegate, stranger } = fixture;
      await expect(consents.connect(stranger).cancelSignaturesFor(patient.address))
        .to.be.revertedWithCustomError(consents, "NotDelegate")
        .withArgs(patient.address, stranger.address);
      await consents.connect(patient).setDelegate(delegate.address, (await time.latest()) + DAY);
      await expect(consents.connect(delegate).cancelSignaturesFor(patient.address))
        .to.emit(consents, "SignaturesCancelled")
        .withArgs(patient.address, 1, delegate.address);
      await expectCancelled(fixture);
    });

    it("should cancel them with revokeAll, which says so in an event", async function () {
      const fixture = await loadFixture(deployWithUnsubmitted);
      const { consents, patient } = fixture;
      await expect(consents.connect(patient).revokeAll())
        .to.emit(consents, "AllConsentsRevoked")
        .withArgs(patient.address, 1, patient.address)
        .and.to.emit(consents, "SignaturesCancelled")
        .withArgs(patient.address, 1, patient.address);
      await expectCancelled(fixture);
    });

    it("should cancel them with revokeAllFor, by a live delegate, for a patient who cannot act", async function () {
      const fixture = await loadFixture(deployWithUnsubmitted);
      const { consents, patient, delegate, clinic, stranger } = fixture;
      await expect(consents.connect(stranger).revokeAllFor(patient.address))
        .to.be.revertedWithCustomError(consents, "NotDelegate")
        .withArgs(patient.address, stranger.address);
      await consents.connect(patient).setDelegate(delegate.address, (await time.latest()) + DAY);
      await expect(consents.connect(delegate).revokeAllFor(patient.address))
        .to.emit(consents, "AllConsentsRevoked")
        .withArgs(patient.address, 1, delegate.address)
        .and.to.emit(consents, "SignaturesCancelled")
        .withArgs(patient.address, 1, delegate.address);
      expect(await consents.epochOf(patient.address)).to.equal(1);
      expect(await statusOf(consents, patient.address, clinic.address, IMAGING)).to.equal(ConsentStatus.Revoked);
      await expectCancelled(fixture);
    });

    it("should cancel only the patient's own signatures", async function () {
      const { consents, patient, other, clinic, relayer, domain, expiresAt, deadline } =
        await loadFixture(deployWithUnsubmitted);
      const othersRequest = grantRequest(other.address, clinic.address, expiresAt);
      const othersSig = await signGrant(other, domain, othersRequest, 0, deadline);
      await consents.connect(patient).cancelSignatures();
      await expect(consents.connect(relayer).grantWithSig(othersRequest, deadline, othersSig)).to.emit(
        consents,
        "ConsentGranted",
      );
    });
  });

  describe("several signatures", function () {
    it("should take signatures for three clinics in any order: each key has its own sequence", async function () {
      const { consents, patient, clinic, lab, emergencyDoctor, relayer, domain, expiresAt, deadline } =
        await loadFixture(deploySigned);
      const requests = [clinic, lab, emergencyDoctor].map((grantee) =>
        grantRequest(patient.address, grantee.address, expiresAt),
      );
      const signatures = await Promise.all(requests.map((request) => signGrant(patient, domain, request, 0, deadline)));
      for (const i of [2, 0, 1]) {
        await expect(consents.connect(relayer).grantWithSig(requests[i], deadline, signatures[i])).to.emit(
          consents,
          "ConsentGranted",
        );
      }
      for (const request of requests) {
        expect(await statusOf(consents, patient.address, request.grantee, LAB)).to.equal(ConsentStatus.Active);
        expect(await nonceOf(consents, request)).to.equal(1);
      }
    });

    it("should land signatures for one key in order only", async function () {
      const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
      const first = grantRequest(patient.address, clinic.address, expiresAt);
      const second = grantRequest(patient.address, clinic.address, expiresAt + DAY, { purposes: ALL_TREATMENT });
      const firstSig = await signGrant(patient, domain, first, 0, deadline);
      const secondSig = await signGrant(patient, domain, second, 1, deadline);
      await expect(consents.connect(relayer).grantWithSig(second, deadline, secondSig)).to.be.revertedWithCustomError(
        consents,
        "InvalidSignature",
      );
      await consents.connect(relayer).grantWithSig(first, deadline, firstSig);
      await consents.connect(relayer).grantWithSig(second, deadline, secondSig);
      const view = await consentView(consents, patient.address, clinic.address, LAB);
      expect(view.purposes).to.equal(ALL_TREATMENT);
      expect(view.expiresAt).to.equal(expiresAt + DAY);
      expect(view.sequence).to.equal(2);
    });

    it("should refuse a signature made before a direct decision on its key", async function () {
      const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
      const request = grantRequest(patient.address, clinic.address, expiresAt);
      const signature = await signGrant(patient, domain, request, 0, deadline);
      // The patient decides directly afterwards, with a shorter term: the older signature must not override it.
      await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt - DAY);
      await expect(consents.connect(relayer).grantWithSig(request, deadline, signature)).to.be.revertedWithCustomError(
        consents,
        "InvalidSignature",
      );
      expect((await consentView(consents, patient.address, clinic.address, LAB)).expiresAt).to.equal(expiresAt - DAY);
    });
  });

  describe("grantWithSig", function () {
    context("with a valid signature", function () {
      it("should refuse to lift a deny the patient gave after signing (DenyInForce), and keep the nonce", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        const request = grantRequest(patient.address, clinic.address, expiresAt);
        const signature = await signGrant(patient, domain, request, 0, deadline);
        await consents.connect(patient).deny(clinic.address, LAB);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
          .to.be.revertedWithCustomError(consents, "DenyInForce")
          .withArgs(patient.address, clinic.address, LAB);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Denied);
        expect(await nonceOf(consents, request)).to.equal(1); // moved on by the deny, not by the refused signature
      });

      it("should refuse to grant past a deny of ANY_CATEGORY, storing nothing a lifted deny would revive", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        const request = grantRequest(patient.address, clinic.address, expiresAt);
        const signature = await signGrant(patient, domain, request, 0, deadline);
        await consents.connect(patient).deny(clinic.address, ANY_CATEGORY);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
          .to.be.revertedWithCustomError(consents, "DenyInForce")
          .withArgs(patient.address, clinic.address, LAB);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
        // Lifting the deny brings nothing to life.
        await consents.connect(patient).revoke(clinic.address, ANY_CATEGORY);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
      });

      it("should refuse a signed grant of ANY_CATEGORY past a deny of ANY_CATEGORY", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        const request = grantRequest(patient.address, clinic.address, expiresAt, { category: ANY_CATEGORY });
        const signature = await signGrant(patient, domain, request, 0, deadline);
        await consents.connect(patient).deny(clinic.address, ANY_CATEGORY);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
          .to.be.revertedWithCustomError(consents, "DenyInForce")
          .withArgs(patient.address, clinic.address, ANY_CATEGORY);
      });

      it("should grant by signature once the patient revoked the deny", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        await consents.connect(patient).deny(clinic.address, LAB);
        await consents.connect(patient).revoke(clinic.address, LAB);
        const request = grantRequest(patient.address, clinic.address, expiresAt);
        const signature = await signGrant(patient, domain, request, await nonceOf(consents, request), deadline);
        await consents.connect(relayer).grantWithSig(request, deadline, signature);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
      });

      it("should accept a signature from a test signer (signer.signTypedData) submitted by a relayer", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        const request = grantRequest(patient.address, clinic.address, expiresAt);
        const signature = await signGrant(patient, domain, request, 0, deadline);
        expect(recoverGrantSigner(domain, request, 0, deadline, signature)).to.equal(patient.address);
        const at = (await time.latest()) + 10;
        await time.setNextBlockTimestamp(at);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
          .to.emit(consents, "ConsentGranted")
          .withArgs(patient.address, clinic.address, LAB, PURPOSES, ACTIONS, at, expiresAt, relayer.address, true);
        expect(await nonceOf(consents, request)).to.equal(1);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
        expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
        // The relayer only carried the signature.
        expect(await statusOf(consents, relayer.address, clinic.address, LAB)).to.equal(ConsentStatus.None);
        expect(await consents.signatureNonce(relayer.address, clinic.address, LAB)).to.equal(0);
      });

      it("should give the same consent and ConsentGranted event as the patient's own grant, but for who sent it", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        const request = grantRequest(patient.address, clinic.address, expiresAt, { category: ANY_CATEGORY });
        const signature = await signGrant(patient, domain, request, 0, deadline);
        const at = (await time.latest()) + 10;
        await time.setNextBlockTimestamp(at);
        const signedLogs = await logsOf(consents.connect(relayer).grantWithSig(request, deadline, signature));
        const signed = await consentView(consents, patient.address, clinic.address, ANY_CATEGORY);

        // The same moment, in the same state, the patient grants it themself.
        const { consents: same } = await loadFixture(deploySigned);
        await time.setNextBlockTimestamp(at);
        const ownLogs = await logsOf(
          same.connect(patient).grant(clinic.address, ANY_CATEGORY, PURPOSES, ACTIONS, 0, expiresAt),
        );
        const own = await consentView(same, patient.address, clinic.address, ANY_CATEGORY);

        expect(signed).to.deep.equal(own);
        expect(signed.notBefore).to.equal(at);
        expect(signedLogs).to.have.length(1);
        expect(ownLogs).to.have.length(1);
        const terms = [patient.address, clinic.address, ANY_CATEGORY, BigInt(PURPOSES), BigInt(ACTIONS), BigInt(at)];
        const signedEvent = consents.interface.parseLog(signedLogs[0])!;
        const ownEvent = same.interface.parseLog(ownLogs[0])!;
        expect(signedEvent.name).to.equal("ConsentGranted");
        expect([...signedEvent.args]).to.deep.equal([...terms, BigInt(expiresAt), relayer.address, true]);
        expect([...ownEvent.args]).to.deep.equal([...terms, BigInt(expiresAt), patient.address, false]);
      });

      it("should accept a signature made with a raw private key, for a patient holding no ether", async function () {
        const { consents, keyPatient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        expect(await ethers.provider.getBalance(keyPatient.address)).to.equal(0);
        const request = grantRequest(keyPatient.address, clinic.address, expiresAt);
        const fromKey = await signGrant(PATIENT_KEY, domain, request, 0, deadline);
        expect(await signGrant(keyPatient, domain, request, 0, deadline)).to.equal(fromKey);
        const at = await pinNextBlockTime();
        await expect(consents.connect(relayer).grantWithSig(request, deadline, fromKey))
          .to.emit(consents, "ConsentGranted")
          .withArgs(keyPatient.address, clinic.address, LAB, PURPOSES, ACTIONS, at, expiresAt, relayer.address, true);
        expect(await nonceOf(consents, request)).to.equal(1);
        expect(await consents.isAuthorized(keyPatient.address, clinic.address, LAB, Purpose.CAREMGT, Action.USE)).to.be
          .true;
      });

      it("should accept a signature submitted at its deadline exactly", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        const request = grantRequest(patient.address, clinic.address, expiresAt);
        const signature = await signGrant(patient, domain, request, 0, deadline);
        await time.setNextBlockTimestamp(deadline);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature)).to.emit(
          consents,
          "ConsentGranted",
        );
      });

      it("should keep a signed future notBefore: the permit is Pending until then", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        const notBefore = deadline + DAY;
        const request = grantRequest(patient.address, clinic.address, expiresAt, { notBefore });
        const signature = await signGrant(patient, domain, request, 0, deadline);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
          .to.emit(consents, "ConsentGranted")
          .withArgs(
            patient.address,
            clinic.address,
            LAB,
            PURPOSES,
            ACTIONS,
            notBefore,
            expiresAt,
            relayer.address,
            true,
          );
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Pending);
      });

      it("should still check the grant itself (GranteeIsPatient, ExpiryNotInFuture)", async function () {
        const { consents, patient, clinic, relayer, domain, expiresAt, deadline } = await loadFixture(deploySigned);
        const toSelf = grantRequest(patient.address, patient.address, expiresAt);
        const toSelfSig = await signGrant(patient, domain, toSelf, 0, deadline);
        await expect(consents.connect(relayer).grantWithSig(toSelf, deadline, toSelfSig))
          .to.be.revertedWithCustomError(consents, "GranteeIsPatient")
          .withArgs(patient.address);
        const past = (await time.latest()) - DAY;
        const ended = grantRequest(patient.address, clinic.address, past + 10, { notBefore: past });
        const endedSig = await signGrant(patient, domain, ended, 0, deadline);
        await expect(consents.connect(relayer).grantWithSig(ended, deadline, endedSig)).to.be.revertedWithCustomError(
          consents,
          "ExpiryNotInFuture",
        );
        expect(await nonceOf(consents, ended)).to.equal(0);
      });
    });

    context("from an ERC-1271 smart wallet", function () {
      it("should accept the wallet's signature, longer than 65 bytes", async function () {
        const { consents, wallet, walletAddress, walletOwner, clinic, relayer, domain, expiresAt, deadline } =
          await loadFixture(deploySigned);
        const request = grantRequest(walletAddress, clinic.address, expiresAt);
        const signature = walletSignature(
          walletOwner.address,
          await signGrant(walletOwner, domain, request, 0, deadline),
        );
        expect(ethers.dataLength(signature)).to.be.greaterThan(65);
        expect(await wallet.isValidSignature(grantDigest(domain, request, 0, deadline), signature)).to.equal(
          wallet.interface.getFunction("isValidSignature").selector,
        );
        const at = await pinNextBlockTime();
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
          .to.emit(consents, "ConsentGranted")
          .withArgs(walletAddress, clinic.address, LAB, PURPOSES, ACTIONS, at, expiresAt, relayer.address, true);
        expect(await nonceOf(consents, request)).to.equal(1);
        expect(await consents.isAuthorized(walletAddress, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
      });

      it("should refuse the owner's bare 65-byte signature for the wallet", async function () {
        const { consents, walletAddress, walletOwner, clinic, relayer, domain, expiresAt, deadline } =
          await loadFixture(deploySigned);
        const request = grantRequest(walletAddress, clinic.address, expiresAt);
        const bare = await signGrant(walletOwner, domain, request, 0, deadline);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, bare)).to.be.revertedWithCustomError(
          consents,
          "InvalidSignature",
        );
      });

      it("should refuse a wallet-format signature by an account that does not own the wallet", async function () {
        const { consents, walletAddress, walletOwner, stranger, clinic, relayer, domain, expiresAt, deadline } =
          await loadFixture(deploySigned);
        const request = grantRequest(walletAddress, clinic.address, expiresAt);
        const byStranger = await signGrant(stranger, domain, request, 0, deadline);
        for (const signature of [
          walletSignature(stranger.address, byStranger),
          walletSignature(walletOwner.address, byStranger),
        ]) {
          await expect(
            consents.connect(relayer).grantWithSig(request, deadline, signature),
          ).to.be.revertedWithCustomError(consents, "InvalidSignature");
        }
      });

      it("should let the wallet act as a patient directly through execute", async function () {
        const { consents, registry, wallet, walletAddress, walletOwner, clinic, expiresAt } =
          await loadFixture(deploySigned);
        const data = consents.interface.encodeFunctionData("grant", [
          clinic.address,
          LAB,
          PURPOSES,
          ACTIONS,
          0,
          expiresAt,
        ]);
        const at = await pinNextBlockTime();
        await expect(wallet.connect(walletOwner).execute(registry, data))
          .to.emit(consents, "ConsentGranted")
          .withArgs(walletAddress, clinic.address, LAB, PURPOSES, ACTIONS, at, expiresAt, walletAddress, false);
        expect(await statusOf(consents, walletAddress, clinic.address, LAB)).to.equal(ConsentStatus.Active);
        // The registry's refusals come back through the wallet unchanged.
        const toSelf = consents.interface.encodeFunctionData("grant", [
          walletAddress,
          LAB,
          PURPOSES,
          ACTIONS,
          0,
          expiresAt,
        ]);
        await expect(wallet.connect(walletOwner).execute(registry, toSelf))
          .to.be.revertedWithCustomError(consents, "GranteeIsPatient")
          .withArgs(walletAddress);
      });

      it("should let only the owner act through the wallet", async function () {
        const { consents, registry, wallet, stranger, clinic, walletAddress, expiresAt } =
          await loadFixture(deploySigned);
        const data = consents.interface.encodeFunctionData("grant", [
          clinic.address,
          LAB,
          PURPOSES,
          ACTIONS,
          0,
          expiresAt,
        ]);
        await expect(wallet.connect(stranger).execute(registry, data))
          .to.be.revertedWithCustomError(wallet, "NotOwner")
          .withArgs(stranger.address);
        expect(await statusOf(consents, walletAddress, clinic.address, LAB)).to.equal(ConsentStatus.None);
      });
    });

    context("with a signature that does not hold", function () {
      /** A valid signed grant from `patient`, ready to be tampered with. */
      async function signedGrant() {
        const fixture = await deploySigned();
        const request = grantRequest(fixture.patient.address, fixture.clinic.address, fixture.expiresAt);
        const signature = await signGrant(fixture.patient, fixture.domain, request, 0, fixture.deadline);
        return { ...fixture, request, signature };
      }

      it("should refuse the same signature twice", async function () {
        const { consents, relayer, request, deadline, signature } = await loadFixture(signedGrant);
        await consents.connect(relayer).grantWithSig(request, deadline, signature);
        await expect(
          consents.connect(relayer).grantWithSig(request, deadline, signature),
        ).to.be.revertedWithCustomError(consents, "InvalidSignature");
        expect(await nonceOf(consents, request)).to.equal(1);
      });

      it("should refuse it on another deployment of the registry", async function () {
        const { consents, providers, relayer, request, deadline, signature } = await loadFixture(signedGrant);
        const second = (await ethers.deployContract("ConsentRegistry", [
          await providers.getAddress(),
        ])) as unknown as ConsentRegistry;
        expect(await nonceOf(second, request)).to.equal(0);
        await expect(second.connect(relayer).grantWithSig(request, deadline, signature)).to.be.revertedWithCustomError(
          second,
          "InvalidSignature",
        );
        // ... while it holds on the registry it was made for.
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature)).to.emit(
          consents,
          "ConsentGranted",
        );
      });

      it("should refuse a signature made for another chain id", async function () {
        const { consents, patient, relayer, request, deadline, chainId, registry } = await loadFixture(signedGrant);
        for (const otherChain of [1n, chainId + 1n]) {
          const signature = await signGrant(patient, consentDomain(otherChain, registry), request, 0, deadline);
          await expect(
            consents.connect(relayer).grantWithSig(request, deadline, signature),
          ).to.be.revertedWithCustomError(consents, "InvalidSignature");
        }
      });

      it("should refuse a signature for another domain name or version", async function () {
        const { consents, patient, relayer, request, deadline, domain } = await loadFixture(signedGrant);
        for (const other of [
          { ...domain, name: "ConsentRegistry2" },
          { ...domain, version: "2" },
        ] satisfies TypedDataDomain[]) {
          const signature = await signGrant(patient, other, request, 0, deadline);
          await expect(
            consents.connect(relayer).grantWithSig(request, deadline, signature),
          ).to.be.revertedWithCustomError(consents, "InvalidSignature");
        }
      });

      const changes: [string, (f: Awaited<ReturnType<typeof signedGrant>>) => Partial<GrantRequest>][] = [
        ["patient", (f) => ({ patient: f.other.address })],
        ["grantee", (f) => ({ grantee: f.lab.address })],
        ["category", () => ({ category: IMAGING })],
        ["purposes", () => ({ purposes: PURPOSES | purposeMask(Purpose.HRESCH) })],
        ["actions", () => ({ actions: ACTIONS | actionMask(Action.DISCLOSE) })],
        ["notBefore", (f) => ({ notBefore: f.deadline })],
        ["expiresAt", (f) => ({ expiresAt: f.expiresAt + 1 })],
      ];
      for (const [field, change] of changes) {
        it(`should refuse it when the ${field} is changed`, async function () {
          const fixture = await loadFixture(signedGrant);
          const { consents, relayer, request, deadline, signature } = fixture;
          const changed = { ...request, ...change(fixture) };
          expect(changed).to.not.deep.equal(request);
          await expect(
            consents.connect(relayer).grantWithSig(changed, deadline, signature),
          ).to.be.revertedWithCustomError(consents, "InvalidSignature");
        });
      }

      it("should refuse it when the deadline is changed", async function () {
        const { consents, relayer, request, deadline, signature } = await loadFixture(signedGrant);
        await expect(
          consents.connect(relayer).grantWithSig(request, deadline + 1, signature),
        ).to.be.revertedWithCustomError(consents, "InvalidSignature");
      });

      it("should refuse it once the patient cancelled their signatures (cancelSignatures)", async function () {
        const { consents, patient, relayer, request, deadline, signature } = await loadFixture(signedGrant);
        await consents.connect(patient).cancelSignatures();
        await expect(
          consents.connect(relayer).grantWithSig(request, deadline, signature),
        ).to.be.revertedWithCustomError(consents, "InvalidSignature");
      });

      it("should refuse a signature for a later nonce", async function () {
        const { consents, patient, relayer, request, deadline, domain } = await loadFixture(signedGrant);
        const signature = await signGrant(patient, domain, request, 1, deadline);
        await expect(
          consents.connect(relayer).grantWithSig(request, deadline, signature),
        ).to.be.revertedWithCustomError(consents, "InvalidSignature");
      });

      it("should revert with SignatureExpired one second after the deadline", async function () {
        const { consents, relayer, request, deadline, signature } = await loadFixture(signedGrant);
        await time.setNextBlockTimestamp(deadline + 1);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature))
          .to.be.revertedWithCustomError(consents, "SignatureExpired")
          .withArgs(deadline);
      });

      it("should revert with SignatureExpired before looking at the signature", async function () {
        const { consents, relayer, request } = await loadFixture(signedGrant);
        const deadline = (await time.latest()) - 1;
        await expect(consents.connect(relayer).grantWithSig(request, deadline, "0x"))
          .to.be.revertedWithCustomError(consents, "SignatureExpired")
          .withArgs(deadline);
      });

      it("should refuse a signature by another account than the patient", async function () {
        const { consents, stranger, relayer, request, deadline, domain } = await loadFixture(signedGrant);
        for (const signer of [stranger, PATIENT_KEY]) {
          const signature = await signGrant(signer, domain, request, 0, deadline);
          await expect(
            consents.connect(relayer).grantWithSig(request, deadline, signature),
          ).to.be.revertedWithCustomError(consents, "InvalidSignature");
        }
      });

      it("should refuse the high-s twin of a valid signature (s -> n - s, v flipped)", async function () {
        const { consents, patient, relayer, request, deadline, domain, signature } = await loadFixture(signedGrant);
        const { r, s, v } = Signature.from(signature);
        const highS = ethers.toBeHex(SECP256K1_N - BigInt(s), 32);
        const flippedV = v === 27 ? 28 : 27;
        const twin = ethers.concat([r, highS, ethers.toBeHex(flippedV, 1)]);
        // The twin is a valid ECDSA signature of the digest for plain ecrecover ...
        const digest = grantDigest(domain, request, 0, deadline);
        const recovered = await ethers.provider.call({
          to: ECRECOVER,
          data: ethers.concat([digest, ethers.toBeHex(flippedV, 32), r, highS]),
        });
        expect(ethers.getAddress(ethers.dataSlice(recovered, 12))).to.equal(patient.address);
        // ... and the registry refuses it.
        await expect(consents.connect(relayer).grantWithSig(request, deadline, twin)).to.be.revertedWithCustomError(
          consents,
          "InvalidSignature",
        );
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature)).to.emit(
          consents,
          "ConsentGranted",
        );
      });

      it("should refuse signatures of the wrong length or encoding", async function () {
        const { consents, relayer, request, deadline, signature } = await loadFixture(signedGrant);
        const { r, yParityAndS, s } = Signature.from(signature);
        const malformed: [string, string][] = [
          ["empty", "0x"],
          ["64 bytes of garbage", ethers.hexlify(ethers.randomBytes(64))],
          ["66 bytes of garbage", ethers.hexlify(ethers.randomBytes(66))],
          ["65 bytes of garbage", ethers.hexlify(ethers.randomBytes(65))],
          ["the valid signature in ERC-2098 compact form (64 bytes)", ethers.concat([r, yParityAndS])],
          ["the valid signature and one more byte (66 bytes)", ethers.concat([signature, "0x00"])],
          ["the valid signature with v = 0", ethers.concat([r, s, "0x00"])],
        ];
        for (const [label, bad] of malformed) {
          await expect(
            consents.connect(relayer).grantWithSig(request, deadline, bad),
            label,
          ).to.be.revertedWithCustomError(consents, "InvalidSignature");
        }
        expect(await nonceOf(consents, request)).to.equal(0);
      });

      it("should refuse every signature for the zero address as patient, even one that recovers to nobody", async function () {
        const { consents, relayer, request, deadline, signature } = await loadFixture(signedGrant);
        const { r, s } = Signature.from(signature);
        const forZero = { ...request, patient: ethers.ZeroAddress };
        for (const bad of [
          signature,
          "0x",
          ethers.concat([r, s, "0x00"]),
          ethers.concat([ethers.ZeroHash, s, "0x1b"]),
        ]) {
          await expect(consents.connect(relayer).grantWithSig(forZero, deadline, bad)).to.be.revertedWithCustomError(
            consents,
            "InvalidSignature",
          );
        }
        expect(await nonceOf(consents, forZero)).to.equal(0);
      });

      it("should consume no nonce when refused, so the valid signature still goes through", async function () {
        const { consents, stranger, relayer, request, deadline, domain, signature } = await loadFixture(signedGrant);
        const forged = await signGrant(stranger, domain, request, 0, deadline);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, forged)).to.be.reverted;
        expect(await nonceOf(consents, request)).to.equal(0);
        await expect(consents.connect(relayer).grantWithSig(request, deadline, signature)).to.emit(
          consents,
          "ConsentGranted",
        );
      });

      it("should not take a revocation's signature for a grant", async function () {
        const { consents, patient, relayer, request, deadline, domain } = await loadFixture(signedGrant);
        const revokeSig = await signRevoke(patient, domain, request, 0, deadline);
        await expect(
          consents.connect(relayer).grantWithSig(request, deadline, revokeSig),
        ).to.be.revertedWithCustomError(consents, "InvalidSignature");
      });
    });
  });

  describe("revokeWithSig", function () {
    /** {deploySigned}, with permits on LAB to `clinic` from the patient, the key-only patient and the wallet. */
    async function deployWithPermits() {
      const fixture = await deploySigned();
      const { consents, patient, keyPatient, wallet, walletOwner, clinic, relayer, domain, expiresAt, deadline } =
        fixture;
      await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
      const keyRequest = grantRequest(keyPatient.address, clinic.address, expiresAt);
      await consents
        .connect(relayer)
        .grantWithSig(keyRequest, deadline, await signGrant(PATIENT_KEY, domain, keyRequest, 0, deadline));
      await wallet
        .connect(walletOwner)
        .execute(
          fixture.registry,
          consents.interface.encodeFunctionData("grant", [clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt]),
        );
      return fixture;
    }

    it("should revoke the permit, emit ConsentRevoked and use up the key's nonce", async function () {
      const { consents, patient, clinic, relayer, domain, deadline } = await loadFixture(deployWithPermits);
      const revoke = { patient: patient.address, grantee: clinic.address, category: LAB };
      expect(await nonceOf(consents, revoke)).to.equal(1); // the patient's grant was the key's first decision
      const signature = await signRevoke(patient, domain, revoke, 1, deadline);
      await expect(consents.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, signature))
        .to.emit(consents, "ConsentRevoked")
        .withArgs(patient.address, clinic.address, LAB, relayer.address, true);
      expect(await nonceOf(consents, revoke)).to.equal(2);
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Revoked);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should accept a revocation signed with a raw private key", async function () {
      const { consents, keyPatient, clinic, relayer, domain, deadline } = await loadFixture(deployWithPermits);
      const revoke = { patient: keyPatient.address, grantee: clinic.address, category: LAB };
      expect(await nonceOf(consents, revoke)).to.equal(1);
      const signature = await signRevoke(PATIENT_KEY, domain, revoke, 1, deadline);
      await expect(
        consents.connect(relayer).revokeWithSig(keyPatient.address, clinic.address, LAB, deadline, signature),
      )
        .to.emit(consents, "ConsentRevoked")
        .withArgs(keyPatient.address, clinic.address, LAB, relayer.address, true);
      expect(await nonceOf(consents, revoke)).to.equal(2);
      expect(await statusOf(consents, keyPatient.address, clinic.address, LAB)).to.equal(ConsentStatus.Revoked);
    });

    it("should accept a revocation signed by an ERC-1271 wallet", async function () {
      const { consents, walletAddress, walletOwner, clinic, relayer, domain, deadline } =
        await loadFixture(deployWithPermits);
      const revoke = { patient: walletAddress, grantee: clinic.address, category: LAB };
      const signature = walletSignature(
        walletOwner.address,
        await signRevoke(walletOwner, domain, revoke, 1, deadline),
      );
      await expect(consents.connect(relayer).revokeWithSig(walletAddress, clinic.address, LAB, deadline, signature))
        .to.emit(consents, "ConsentRevoked")
        .withArgs(walletAddress, clinic.address, LAB, relayer.address, true);
      expect(await nonceOf(consents, revoke)).to.equal(2);
      expect(await statusOf(consents, walletAddress, clinic.address, LAB)).to.equal(ConsentStatus.Revoked);
    });

    it("should refuse the same revocation twice, even after the permit is granted again", async function () {
      const { consents, patient, clinic, relayer, domain, deadline, expiresAt } = await loadFixture(deployWithPermits);
      const revoke = { patient: patient.address, grantee: clinic.address, category: LAB };
      const signature = await signRevoke(patient, domain, revoke, 1, deadline);
      await consents.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, signature);
      await consents.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, expiresAt);
      await expect(
        consents.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, signature),
      ).to.be.revertedWithCustomError(consents, "InvalidSignature");
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
    });

    it("should refuse a revocation by another signer, for another key, or on another registry", async function () {
      const { consents, providers, patient, stranger, clinic, relayer, domain, deadline } =
        await loadFixture(deployWithPermits);
      const revoke = { patient: patient.address, grantee: clinic.address, category: LAB };
      const byStranger = await signRevoke(stranger, domain, revoke, 1, deadline);
      await expect(
        consents.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, byStranger),
      ).to.be.revertedWithCustomError(consents, "InvalidSignature");
      const signature = await signRevoke(patient, domain, revoke, 1, deadline);
      await consents.connect(patient).grant(clinic.address, IMAGING, PURPOSES, ACTIONS, 0, deadline + DAY);
      expect(await nonceOf(consents, { ...revoke, category: IMAGING })).to.equal(1);
      await expect(
        consents.connect(relayer).revokeWithSig(patient.address, clinic.address, IMAGING, deadline, signature),
      ).to.be.revertedWithCustomError(consents, "InvalidSignature");
      const second = (await ethers.deployContract("ConsentRegistry", [
        await providers.getAddress(),
      ])) as unknown as ConsentRegistry;
      await second.connect(patient).grant(clinic.address, LAB, PURPOSES, ACTIONS, 0, deadline + DAY);
      await expect(
        second.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, signature),
      ).to.be.revertedWithCustomError(second, "InvalidSignature");
      expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Active);
    });

    it("should not take a grant's signature for a revocation", async function () {
      const { consents, patient, clinic, relayer, domain, deadline, expiresAt } = await loadFixture(deployWithPermits);
      const grantSig = await signGrant(
        patient,
        domain,
        grantRequest(patient.address, clinic.address, expiresAt),
        1,
        deadline,
      );
      await expect(
        consents.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, grantSig),
      ).to.be.revertedWithCustomError(consents, "InvalidSignature");
    });

    it("should revert with SignatureExpired after the deadline", async function () {
      const { consents, patient, clinic, relayer, domain, deadline } = await loadFixture(deployWithPermits);
      const revoke = { patient: patient.address, grantee: clinic.address, category: LAB };
      const signature = await signRevoke(patient, domain, revoke, 1, deadline);
      await time.setNextBlockTimestamp(deadline + 1);
      await expect(consents.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, signature))
        .to.be.revertedWithCustomError(consents, "SignatureExpired")
        .withArgs(deadline);
    });

    it("should revert with NothingToRevoke for a valid signature when there is nothing, consuming no nonce", async function () {
      const { consents, patient, clinic, relayer, domain, deadline } = await loadFixture(deployWithPermits);
      const revoke = { patient: patient.address, grantee: clinic.address, category: IMAGING };
      const signature = await signRevoke(patient, domain, revoke, 0, deadline);
      await expect(
        consents.connect(relayer).revokeWithSig(patient.address, clinic.address, IMAGING, deadline, signature),
      )
        .to.be.revertedWithCustomError(consents, "NothingToRevoke")
        .withArgs(patient.address, clinic.address, IMAGING);
      expect(await nonceOf(consents, revoke)).to.equal(0);
    });

    context("when the key holds a deny", function () {
      it("should refuse a revocation signed before the deny (DenyInForce): a signature never lifts a deny", async function () {
        const { consents, patient, clinic, relayer, domain, deadline } = await loadFixture(deployWithPermits);
        const revoke = { patient: patient.address, grantee: clinic.address, category: LAB };
        const stale = await signRevoke(patient, domain, revoke, 1, deadline);
        await consents.connect(patient).deny(clinic.address, LAB);
        await expect(consents.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, stale))
          .to.be.revertedWithCustomError(consents, "DenyInForce")
          .withArgs(patient.address, clinic.address, LAB);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Denied);
      });

      it("should refuse even a revocation signed after the deny, with the current nonce", async function () {
        const { consents, patient, clinic, relayer, domain, deadline } = await loadFixture(deployWithPermits);
        await consents.connect(patient).deny(clinic.address, LAB);
        const revoke = { patient: patient.address, grantee: clinic.address, category: LAB };
        const fresh = await signRevoke(patient, domain, revoke, await nonceOf(consents, revoke), deadline);
        await expect(consents.connect(relayer).revokeWithSig(patient.address, clinic.address, LAB, deadline, fresh))
          .to.be.revertedWithCustomError(consents, "DenyInForce")
          .withArgs(patient.address, clinic.address, LAB);
        // The patient lifts it directly.
        await expect(consents.connect(patient).revoke(clinic.address, LAB))
          .to.emit(consents, "ConsentRevoked")
          .withArgs(patient.address, clinic.address, LAB, patient.address, false);
        expect(await statusOf(consents, patient.address, clinic.address, LAB)).to.equal(ConsentStatus.Revoked);
      });
    });
  });
});
