import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import {
  ANY_CATEGORY,
  Action,
  Capability,
  ConsentStatus,
  Decision,
  ProviderStatus,
  Purpose,
  RecordStatus,
  actionMask,
  categoryId,
  purposeMask,
} from "../../src/codes";
import { connect, parseSignedGrant, type GrantParams, type SignedGrant } from "../../src/client";
import { joinSignatureNonce, splitSignatureNonce } from "../../src/eip712";
import { ConsentError, decodeError } from "../../src/errors";
import { contentHash, recordId } from "../../src/records";
import { DAY } from "../helpers/fixtures";
import { deploySdk } from "./fixture";

const LAB = categoryId("laboratory");

/** The error `promise` rejects with; fails when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  expect.fail("expected the call to be rejected");
}

describe("ConsentClient", function () {
  async function grantParams(grantee: string, overrides: Partial<GrantParams> = {}): Promise<GrantParams> {
    return {
      grantee,
      category: "laboratory",
      purposes: [Purpose.TREAT],
      actions: [Action.ACCESS, Action.USE],
      expiresAt: (await time.latest()) + 30 * DAY,
      ...overrides,
    };
  }

  describe("connect", function () {
    it("should expose the three registries at the deployment's addresses", async function () {
      const { patientClient, deployment } = await loadFixture(deploySdk);
      expect(await patientClient.consents.getAddress()).to.equal(deployment.consentRegistry);
      expect(await patientClient.providers.getAddress()).to.equal(deployment.providerRegistry);
      expect(await patientClient.records.getAddress()).to.equal(deployment.recordRegistry);
    });

    it("should refuse a deployment with an invalid address", async function () {
      const { patient, deployment } = await loadFixture(deploySdk);
      expect(() => connect(patient, { ...deployment, consentRegistry: "0x1234" })).to.throw(/consentRegistry/);
    });

    it("should read with a provider and refuse to write without a signer", async function () {
      const { client, patient, clinic } = await loadFixture(deploySdk);
      const reader = client(ethers.provider);
      expect((await reader.consentOf(patient.address, clinic.address, "laboratory")).status).to.equal(
        ConsentStatus.None,
      );
      const error = await rejection(reader.grant(await grantParams(clinic.address)));
      expect(error.message).to.match(/needs a signer/);
    });
  });

  describe("categoryIdOf", function () {
    it("should map codes, * and 0x ids to category ids", async function () {
      const { patientClient } = await loadFixture(deploySdk);
      expect(patientClient.categoryIdOf("laboratory")).to.equal(LAB);
      expect(patientClient.categoryIdOf("*")).to.equal(ANY_CATEGORY);
      expect(patientClient.categoryIdOf(LAB.toUpperCase().replace("0X", "0x"))).to.equal(LAB);
    });

    it("should refuse unknown, malformed and zero categories", async function () {
      const { patientClient } = await loadFixture(deploySdk);
      expect(() => patientClient.categoryIdOf("labratory")).to.throw(/Unknown category code "labratory"/);
      expect(() => patientClient.categoryIdOf("Lab Results")).to.throw(/Invalid category code/);
      expect(() => patientClient.categoryIdOf("0x1234")).to.throw(/32 bytes/);
      expect(() => patientClient.categoryIdOf(ethers.ZeroHash)).to.throw(/zero/);
    });

    it("should accept the extra codes a client is configured with", async function () {
      const { patient, deployment } = await loadFixture(deploySdk);
      const custom = connect(patient, deployment, { categories: ["dental"] });
      expect(custom.categoryIdOf("dental")).to.equal(categoryId("dental"));
      const open = connect(patient, deployment, { anyCategoryCode: true });
      expect(open.categoryIdOf("podiatry")).to.equal(categoryId("podiatry"));
    });
  });

  describe("grant", function () {
    it("should store a permit with purposes and actions given as arrays", async function () {
      const { patientClient, consents, patient, clinic } = await loadFixture(deploySdk);
      const params = await grantParams(clinic.address);
      const receipt = await patientClient.grant(params);
      expect(receipt.status).to.equal(1);
      const { consent, status } = await patientClient.consentOf(patient.address, clinic.address, "laboratory");
      expect(status).to.equal(ConsentStatus.Active);
      expect(consent.purposes).to.equal(purposeMask(Purpose.TREAT));
      expect(consent.actions).to.equal(actionMask(Action.ACCESS, Action.USE));
      expect(consent.expiresAt).to.equal(params.expiresAt);
      expect(consent.decision).to.equal(Decision.Permit);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.USE)).to.equal(
        true,
      );
    });

    it("should accept masks, a bytes32 category id, a start time and bigints", async function () {
      const { patientClient, patient, lab } = await loadFixture(deploySdk);
      const start = (await time.latest()) + DAY;
      await patientClient.grant({
        grantee: lab.address,
        category: categoryId("imaging"),
        purposes: purposeMask(Purpose.TREAT, Purpose.HRESCH),
        actions: actionMask(Action.COLLECT),
        notBefore: BigInt(start),
        expiresAt: BigInt(start + DAY),
      });
      const { consent, status } = await patientClient.consentOf(patient.address, lab.address, "imaging");
      expect(status).to.equal(ConsentStatus.Pending);
      expect(consent.purposes).to.equal(purposeMask(Purpose.TREAT, Purpose.HRESCH));
      expect(consent.actions).to.equal(actionMask(Action.COLLECT));
      expect(consent.notBefore).to.equal(start);
    });

    it("should grant to a provider's stable id, so the consent survives a key rotation", async function () {
      const { patientClient, clinicClient, client, consents, patient, clinic, other } = await loadFixture(deploySdk);
      await clinicClient.rotateKey(other.address);
      await client(other).acceptKey(clinic.address);
      // The patient only knows the clinic's new key: the permit still goes to the stable id.
      const params = await grantParams(other.address);
      const receipt = await patientClient.grant(params);
      await expect(receipt)
        .to.emit(consents, "ConsentGranted")
        .withArgs(
          patient.address,
          clinic.address,
          LAB,
          purposeMask(Purpose.TREAT),
          actionMask(Action.ACCESS, Action.USE),
          await time.latest(),
          params.expiresAt,
          patient.address,
          false,
        );
      expect(await patientClient.providerIdOf(other.address)).to.equal(clinic.address);
      expect(
        await patientClient.isAuthorized(patient.address, other.address, "laboratory", "TREAT", "access"),
      ).to.equal(true);
      expect(
        await patientClient.isAuthorized(patient.address, clinic.address, "laboratory", "TREAT", "access"),
      ).to.equal(false);
    });

    context("with invalid input", function () {
      it("should refuse before sending anything", async function () {
        const { patientClient, patient, clinic } = await loadFixture(deploySdk);
        const base = await grantParams(clinic.address);
        const sent = await ethers.provider.getTransactionCount(patient.address);
        const cases: [Partial<GrantParams>, RegExp][] = [
          [{ category: "labratory" }, /Unknown category code "labratory"/],
          [{ purposes: [] }, /No purposes given/],
          [{ purposes: 1 << 10 }, /Invalid purposes mask 1024/],
          [{ actions: 0 }, /No actions given/],
          [{ actions: [7 as Action] }, /Unknown action 7/],
          [{ expiresAt: (await time.latest()) - 1 }, /is not in the future \(latest block time/],
          [{ expiresAt: 0 }, /expiresAt is required/],
          [{ notBefore: base.expiresAt as number, expiresAt: base.expiresAt }, /would end .* before it starts/],
          [{ grantee: ethers.ZeroAddress }, /zero address/],
          [{ grantee: patient.address }, /cannot give a consent to themself/],
          [{ grantee: "0xnot-an-address" }, /Invalid grantee/],
        ];
        for (const [overrides, message] of cases) {
          const error = await rejection(patientClient.grant({ ...base, ...overrides }));
          expect(error.message, JSON.stringify(overrides)).to.match(message);
        }
        expect(await ethers.provider.getTransactionCount(patient.address)).to.equal(sent);
      });
    });
  });

  describe("revoke, deny and revokeAll", function () {
    it("should revoke a permit given to a provider through its current key", async function () {
      const { patientClient, clinicClient, client, consents, patient, clinic, other } = await loadFixture(deploySdk);
      await patientClient.grant(await grantParams(clinic.address));
      await clinicClient.rotateKey(other.address);
      await client(other).acceptKey(clinic.address);
      await expect(await patientClient.revoke(other.address, "laboratory"))
        .to.emit(consents, "ConsentRevoked")
        .withArgs(patient.address, clinic.address, LAB, patient.address, false);
      expect((await patientClient.consentOf(patient.address, clinic.address, "laboratory")).status).to.equal(
        ConsentStatus.Revoked,
      );
    });

    it("should throw a ConsentError with a readable sentence when there is nothing to revoke", async function () {
      const { patientClient, patient, clinic } = await loadFixture(deploySdk);
      const error = await rejection(patientClient.revoke(clinic.address, "laboratory"));
      expect(error).to.be.instanceOf(ConsentError);
      const consentError = error as ConsentError;
      expect(consentError.errorName).to.equal("NothingToRevoke");
      expect(consentError.args).to.deep.equal([patient.address, clinic.address, LAB]);
      expect(consentError.message).to.equal(
        `There is no consent from ${patient.address} to ${clinic.address} for category laboratory to revoke.`,
      );
    });

    it("should let a deny beat a permit for every category", async function () {
      const { patientClient, patient, clinic } = await loadFixture(deploySdk);
      await patientClient.grant(await grantParams(clinic.address));
      await patientClient.deny(clinic.address, "*");
      expect(
        await patientClient.isAuthorized(patient.address, clinic.address, "laboratory", Purpose.TREAT, Action.ACCESS),
      ).to.be.false;
      expect((await patientClient.consentOf(patient.address, clinic.address, "*")).status).to.equal(
        ConsentStatus.Denied,
      );
    });

    it("should end every permit with revokeAll", async function () {
      const { patientClient, patient, clinic, lab } = await loadFixture(deploySdk);
      await patientClient.grant(await grantParams(clinic.address));
      await patientClient.grant(await grantParams(lab.address, { category: "imaging" }));
      await patientClient.revokeAll();
      expect((await patientClient.consentOf(patient.address, clinic.address, "laboratory")).status).to.equal(
        ConsentStatus.Revoked,
      );
      expect((await patientClient.consentOf(patient.address, lab.address, "imaging")).status).to.equal(
        ConsentStatus.Revoked,
      );
    });
    it("should cancel every signed grant not yet submitted when revoking all", async function () {
      const { patientClient, relayerClient, consents, patient, clinic, lab } = await loadFixture(deploySdk);
      const deadline = (await time.latest()) + 3600;
      const signed = await patientClient.signGrant(await grantParams(clinic.address), { deadline });
      const other = await patientClient.signGrant(await grantParams(lab.address, { category: "imaging" }), {
        deadline,
      });
      const receipt = await patientClient.revokeAll();
      await expect(receipt).to.emit(consents, "AllConsentsRevoked").withArgs(patient.address, 1, patient.address);
      await expect(receipt).to.emit(consents, "SignaturesCancelled").withArgs(patient.address, 1, patient.address);
      expect(await consents.epochOf(patient.address)).to.equal(1);
      expect((await patientClient.signatureNonce(patient.address, clinic.address, "laboratory")).nonce).to.equal(
        1n << 128n,
      );
      for (const cancelled of [signed, other]) {
        expect((await rejection(relayerClient.submitSignedGrant(cancelled))).message).to.match(
          /was cancelled: the patient cancelled every unsubmitted signature/,
        );
      }
    });
  });

  describe("delegates", function () {
    it("should let a delegate grant, revoke and deny for the patient until removed", async function () {
      const { patientClient, client, consents, patient, delegate, clinic, lab } = await loadFixture(deploySdk);
      await patientClient.setDelegate(delegate.address, (await time.latest()) + 7 * DAY);
      expect(await consents.isDelegate(patient.address, delegate.address)).to.be.true;
      const guardian = client(delegate);
      await guardian.grantFor(patient.address, await grantParams(clinic.address));
      expect((await guardian.consentOf(patient.address, clinic.address, "laboratory")).status).to.equal(
        ConsentStatus.Active,
      );
      await guardian.revokeFor(patient.address, clinic.address, "laboratory");
      await guardian.denyFor(patient.address, lab.address, "genomics");
      expect((await guardian.consentOf(patient.address, lab.address, "genomics")).status).to.equal(
        ConsentStatus.Denied,
      );

      await patientClient.removeDelegate(delegate.address);
      const error = (await rejection(
        guardian.grantFor(patient.address, await grantParams(clinic.address)),
      )) as ConsentError;
      expect(error.errorName).to.equal("NotDelegate");
      expect(error.message).to.equal(
        `${delegate.address} is not a delegate of patient ${patient.address} whose term is running.`,
      );
    });

    it("should refuse a delegate term already over, and removing an unknown delegate", async function () {
      const { patientClient, patient, delegate } = await loadFixture(deploySdk);
      const past = await rejection(patientClient.setDelegate(delegate.address, (await time.latest()) - 10));
      expect(past.message).to.match(/not in the future/);
      const unknown = (await rejection(patientClient.removeDelegate(delegate.address))) as ConsentError;
      expect(unknown.errorName).to.equal("DelegateNotFound");
      expect(unknown.message).to.equal(`${delegate.address} is not a delegate of patient ${patient.address}.`);
    });
  });

  describe("signed consents", function () {
    it("should let a relayer submit a grant signed with the patient's wallet, through JSON", async function () {
      const { patientClient, relayerClient, consents, patient, clinic } = await loadFixture(deploySdk);
      const signed = await patientClient.signGrant(await grantParams(clinic.address), {
        deadline: (await time.latest()) + 3600,
      });
      expect(signed.nonce).to.equal("0");
      expect(signed.chainId).to.equal(31337);
      const relayerAddress = await relayerClient.address();
      expect(signed.registry).to.equal(await consents.getAddress());
      const wire = JSON.stringify(signed);
      await expect(await relayerClient.submitSignedGrant(wire))
        .to.emit(consents, "ConsentGranted")
        .withArgs(
          patient.address,
          clinic.address,
          LAB,
          signed.request.purposes,
          signed.request.actions,
          anyNumber(),
          signed.request.expiresAt,
          relayerAddress,
          true,
        );
      expect(await consents.signatureNonce(patient.address, clinic.address, LAB)).to.equal(1n);
    });

    it("should sign with a raw private key for a patient with no ether", async function () {
      const { relayerClient, consents, clinic } = await loadFixture(deploySdk);
      const wallet = ethers.Wallet.createRandom();
      const signed = await relayerClient.signGrant(await grantParams(clinic.address), {
        deadline: (await time.latest()) + 3600,
        signer: wallet.privateKey,
      });
      expect(signed.request.patient).to.equal(wallet.address);
      await relayerClient.submitSignedGrant(JSON.parse(JSON.stringify(signed)) as SignedGrant);
      const [, status] = await consents.consentOf(wallet.address, clinic.address, LAB);
      expect(status).to.equal(BigInt(ConsentStatus.Active));
    });

    it("should refuse a tampered, replayed, foreign or expired signed grant before sending", async function () {
      const { patientClient, relayerClient, relayer, clinic, lab } = await loadFixture(deploySdk);
      const deadline = (await time.latest()) + 3600;
      const signed = await patientClient.signGrant(await grantParams(clinic.address), { deadline });
      const sent = await ethers.provider.getTransactionCount(relayer.address);

      const tampered = { ...signed, request: { ...signed.request, grantee: lab.address } };
      expect((await rejection(relayerClient.submitSignedGrant(tampered))).message).to.match(
        new RegExp(
          `^The signed grant's signature does not match these terms and the patient ${signed.request.patient}: ` +
            "the terms were edited after signing, or another account signed them \\(it recovers to 0x[0-9a-fA-F]{40}\\)$",
        ),
      );
      expect((await rejection(relayerClient.submitSignedGrant({ ...signed, chainId: 1 }))).message).to.match(
        /for chain 1, but the client is on chain 31337/,
      );
      expect((await rejection(relayerClient.submitSignedGrant({ ...signed, registry: lab.address }))).message).to.match(
        /for the consent registry/,
      );
      const ahead = await patientClient.signGrant(await grantParams(clinic.address), { deadline, nonce: 5 });
      expect((await rejection(relayerClient.submitSignedGrant(ahead))).message).to.match(
        /nonce is ahead of the next one for .* \(sequence 5, the key's next is 0\): submit the patient's earlier/,
      );
      expect((await rejection(relayerClient.submitSignedGrant({ ...signed, nonce: "5" }))).message).to.match(
        /signature does not match these terms/,
      );
      expect((await rejection(relayerClient.submitSignedGrant("{not json"))).message).to.match(/not JSON/);
      expect(() => parseSignedGrant({ ...signed, request: { ...signed.request, purposes: -1 } })).to.throw(
        /request.purposes/,
      );
      expect(() => parseSignedGrant({ ...signed, signature: "signed" })).to.throw(/signature/);
      expect((await rejection(relayerClient.submitSignedGrant({ ...signed, signature: "0x1234" }))).message).to.equal(
        `The signed grant's signature is malformed: it is not the patient ${signed.request.patient}'s`,
      );
      expect(await ethers.provider.getTransactionCount(relayer.address)).to.equal(sent);

      await relayerClient.submitSignedGrant(signed);
      expect((await rejection(relayerClient.submitSignedGrant(signed))).message).to.match(
        /nonce was already used: it was submitted, or a later decision on/,
      );

      const late = await patientClient.signGrant(await grantParams(lab.address), {
        deadline: (await time.latest()) + 60,
      });
      await time.increase(120);
      expect((await rejection(relayerClient.submitSignedGrant(late))).message).to.match(/expired at/);
    });

    it("should let a patient cancel unsubmitted signatures", async function () {
      const { patientClient, relayerClient, patient, clinic } = await loadFixture(deploySdk);
      const signed = await patientClient.signGrant(await grantParams(clinic.address), {
        deadline: (await time.latest()) + 3600,
      });
      await patientClient.cancelSignatures();
      expect((await rejection(relayerClient.submitSignedGrant(signed))).message).to.match(/was cancelled/);
      expect(
        (await patientClient.signatureNonce(patient.address, clinic.address, "laboratory")).signatureEpoch,
      ).to.equal(1n);
    });

    it("should decode the contract's refusal of a signature signed for another key", async function () {
      const { patientClient, relayerClient, clinic, stranger } = await loadFixture(deploySdk);
      // A signature the SDK cannot check off-chain: the stranger's, for a patient address with code (the registry).
      const signed = await patientClient.signGrant(
        { ...(await grantParams(clinic.address)), patient: await patientClient.records.getAddress() },
        { deadline: (await time.latest()) + 3600, signer: stranger },
      );
      const error = (await rejection(relayerClient.submitSignedGrant(signed))) as ConsentError;
      expect(error).to.be.instanceOf(ConsentError);
      expect(error.errorName).to.equal("InvalidSignature");
    });

    it("should let a relayer submit a signed revocation", async function () {
      const { patientClient, relayerClient, consents, patient, clinic } = await loadFixture(deploySdk);
      await patientClient.grant(await grantParams(clinic.address));
      const signed = await patientClient.signRevoke(
        { grantee: clinic.address, category: "laboratory" },
        { deadline: (await time.latest()) + 3600 },
      );
      const forged = { ...signed, request: { ...signed.request, grantee: patient.address } };
      expect((await rejection(relayerClient.submitSignedRevoke(forged))).message).to.match(
        /signature does not match these terms and the patient/,
      );
      await expect(await relayerClient.submitSignedRevoke(JSON.stringify(signed)))
        .to.emit(consents, "ConsentRevoked")
        .withArgs(patient.address, clinic.address, LAB, await relayerClient.address(), true);
    });

    it("should refuse to sign when the signer is not the patient", async function () {
      const { patientClient, clinic, stranger, patient } = await loadFixture(deploySdk);
      const error = await rejection(
        patientClient.signGrant(
          { ...(await grantParams(clinic.address)), patient: patient.address },
          { deadline: (await time.latest()) + 3600, signer: stranger },
        ),
      );
      expect(error.message).to.equal(`The signer ${stranger.address} is not the patient ${patient.address}`);
    });
  });

  describe("per-key signature nonces", function () {
    it("should let signatures for two clinics land in either order", async function () {
      const { patientClient, relayerClient, consents, patient, clinic, lab } = await loadFixture(deploySdk);
      const deadline = (await time.latest()) + 3600;
      const forClinic = await patientClient.signGrant(await grantParams(clinic.address), { deadline });
      const forLab = await patientClient.signGrant(await grantParams(lab.address, { category: "imaging" }), {
        deadline,
      });
      expect([forClinic.nonce, forLab.nonce]).to.deep.equal(["0", "0"]);
      await relayerClient.submitSignedGrant(forLab); // signed second, submitted first
      await relayerClient.submitSignedGrant(forClinic);
      for (const [grantee, category] of [
        [clinic.address, LAB],
        [lab.address, categoryId("imaging")],
      ]) {
        const [, status] = await consents.consentOf(patient.address, grantee, category);
        expect(status).to.equal(BigInt(ConsentStatus.Active));
      }
    });

    it("should land signatures for one key in order, and say which comes first", async function () {
      const { patientClient, relayerClient, patient, clinic } = await loadFixture(deploySdk);
      const deadline = (await time.latest()) + 3600;
      const first = await patientClient.signGrant(await grantParams(clinic.address), { deadline });
      const second = await patientClient.signGrant(await grantParams(clinic.address, { purposes: [Purpose.CAREMGT] }), {
        deadline,
        nonce: 1,
      });
      expect((await rejection(relayerClient.submitSignedGrant(second))).message).to.match(
        /ahead of the next one for .*submit the patient's earlier signatures for the same grantee and category first/,
      );
      await relayerClient.submitSignedGrant(first);
      await relayerClient.submitSignedGrant(second);
      const { consent } = await patientClient.consentOf(patient.address, clinic.address, "laboratory");
      expect(consent.purposes).to.equal(purposeMask(Purpose.CAREMGT));
      expect(consent.sequence).to.equal(2);
    });

    it("should void a signature once the key is decided directly", async function () {
      const { patientClient, relayerClient, clinic } = await loadFixture(deploySdk);
      const signed = await patientClient.signGrant(await grantParams(clinic.address), {
        deadline: (await time.latest()) + 3600,
      });
      await patientClient.grant(await grantParams(clinic.address, { purposes: [Purpose.CAREMGT] }));
      expect((await rejection(relayerClient.submitSignedGrant(signed))).message).to.match(/already used/);
    });

    it("should split a nonce into the signature epoch and the key's sequence", async function () {
      const { patientClient, patient, clinic } = await loadFixture(deploySdk);
      await patientClient.grant(await grantParams(clinic.address));
      await patientClient.cancelSignatures();
      expect(await patientClient.signatureNonce(patient.address, clinic.address, "laboratory")).to.deep.equal({
        nonce: (1n << 128n) | 1n,
        signatureEpoch: 1n,
        sequence: 1n,
      });
      expect(splitSignatureNonce("340282366920938463463374607431768211457")).to.deep.equal({
        signatureEpoch: 1n,
        sequence: 1n,
      });
      expect(joinSignatureNonce({ signatureEpoch: 2n, sequence: 3n })).to.equal((2n << 128n) | 3n);
      expect(() => splitSignatureNonce(-1n)).to.throw(/not a uint256/);
    });
  });

  describe("signed consents and denies", function () {
    it("should refuse to sign a grant a deny in force would block", async function () {
      const { patientClient, patient, clinic } = await loadFixture(deploySdk);
      await patientClient.deny(clinic.address, "*");
      const error = await rejection(
        patientClient.signGrant(await grantParams(clinic.address), { deadline: (await time.latest()) + 3600 }),
      );
      expect(error.message).to.equal(
        `Patient ${patient.address} has a deny in force against ${clinic.address} for every category (*): ` +
          "a signed grant can never land past it. Lift the deny with a transaction (revoke) first.",
      );
    });

    it("should refuse to sign a grant past a deny given to an address before it became the provider's key", async function () {
      const { patientClient, clinicClient, client, patient, clinic, other } = await loadFixture(deploySdk);
      await patientClient.deny(other.address, "laboratory");
      await clinicClient.rotateKey(other.address);
      await client(other).acceptKey(clinic.address);
      expect(await patientClient.denyBlocking(patient.address, clinic.address, "laboratory")).to.deep.equal({
        key: other.address,
        category: LAB,
      });
      const error = await rejection(
        patientClient.signGrant(await grantParams(clinic.address), { deadline: (await time.latest()) + 3600 }),
      );
      expect(error.message).to.match(/has a deny in force against/);
    });

    it("should refuse to sign a revocation of a deny, or of nothing", async function () {
      const { patientClient, patient, clinic, lab } = await loadFixture(deploySdk);
      const deadline = (await time.latest()) + 3600;
      await patientClient.deny(clinic.address, "laboratory");
      expect(
        (await rejection(patientClient.signRevoke({ grantee: clinic.address, category: "laboratory" }, { deadline })))
          .message,
      ).to.match(/a signed revocation withdraws permits only/);
      expect(
        (await rejection(patientClient.signRevoke({ grantee: lab.address, category: "laboratory" }, { deadline })))
          .message,
      ).to.equal(
        `There is no permit from ${patient.address} to ${lab.address} for category laboratory to revoke ` +
          "(to sign a revocation of a grant not submitted yet, give opts.nonce: that grant's nonce + 1)",
      );
    });

    it("should sign a revocation ahead of the grant it follows, landing after it", async function () {
      const { patientClient, relayerClient, patient, clinic } = await loadFixture(deploySdk);
      const deadline = (await time.latest()) + 3600;
      const grant = await patientClient.signGrant(await grantParams(clinic.address), { deadline });
      const revoke = await patientClient.signRevoke(
        { grantee: clinic.address, category: "laboratory" },
        { deadline, nonce: BigInt(grant.nonce) + 1n },
      );
      await relayerClient.submitSignedGrant(grant);
      await relayerClient.submitSignedRevoke(revoke);
      expect((await patientClient.consentOf(patient.address, clinic.address, "laboratory")).status).to.equal(
        ConsentStatus.Revoked,
      );
    });
  });

  describe("delegates acting for the patient", function () {
    it("should let a delegate revoke all and cancel signatures, attributed to the delegate", async function () {
      const { patientClient, client, relayerClient, consents, patient, delegate, clinic } =
        await loadFixture(deploySdk);
      await patientClient.setDelegate(delegate.address, (await time.latest()) + 7 * DAY);
      const guardian = client(delegate);
      const deadline = (await time.latest()) + 3600;
      const signed = await patientClient.signGrant(await grantParams(clinic.address), { deadline });
      await expect(await guardian.cancelSignaturesFor(patient.address))
        .to.emit(consents, "SignaturesCancelled")
        .withArgs(patient.address, 1, delegate.address);
      expect((await rejection(relayerClient.submitSignedGrant(signed))).message).to.match(/was cancelled/);
      await patientClient.grant(await grantParams(clinic.address));
      await expect(await guardian.revokeAllFor(patient.address))
        .to.emit(consents, "AllConsentsRevoked")
        .withArgs(patient.address, 1, delegate.address);
      expect((await patientClient.consentOf(patient.address, clinic.address, "laboratory")).status).to.equal(
        ConsentStatus.Revoked,
      );
      const stranger = (await rejection(client(clinic).revokeAllFor(patient.address))) as ConsentError;
      expect(stranger.errorName).to.equal("NotDelegate");
    });

    it("should let a delegate refuse break-glass access and close a window", async function () {
      const { patientClient, client, erClient, consents, patient, delegate, emergencyDoctor } =
        await loadFixture(deploySdk);
      await patientClient.setDelegate(delegate.address, (await time.latest()) + 7 * DAY);
      const guardian = client(delegate);
      await erClient.emergencyAccess(patient.address, "trauma");
      await expect(await guardian.closeEmergencyAccessFor(patient.address, emergencyDoctor.address))
        .to.emit(consents, "EmergencyAccessClosed")
        .withArgs(patient.address, emergencyDoctor.address, delegate.address);
      await guardian.setEmergencyAccessFor(patient.address, false);
      expect(await consents.emergencyAccessAllowed(patient.address)).to.be.false;
    });
  });

  describe("break-glass access", function () {
    it("should refuse to renew an open window, and to re-open one the patient closed until turned off and on", async function () {
      const { patientClient, erClient, patient, emergencyDoctor } = await loadFixture(deploySdk);
      await erClient.emergencyAccess(patient.address, "trauma");
      const open = (await rejection(erClient.emergencyAccess(patient.address, "trauma again"))) as ConsentError;
      expect(open.errorName).to.equal("EmergencyAccessAlreadyOpen");
      expect(open.message).to.match(
        new RegExp(
          `^${emergencyDoctor.address} already has break-glass access to patient ${patient.address} open until`,
        ),
      );
      await patientClient.closeEmergencyAccess(emergencyDoctor.address);
      const closed = (await rejection(erClient.emergencyAccess(patient.address, "trauma"))) as ConsentError;
      expect(closed.errorName).to.equal("EmergencyAccessRefused");
      await patientClient.setEmergencyAccess(false);
      await patientClient.setEmergencyAccess(true);
      await erClient.emergencyAccess(patient.address, "trauma");
      expect(await erClient.isAuthorized(patient.address, emergencyDoctor.address, "imaging", "ETREAT", "access")).to.be
        .true;
    });

    it("should refuse a non-boolean break-glass setting before sending", async function () {
      const { patientClient } = await loadFixture(deploySdk);
      expect((await rejection(patientClient.setEmergencyAccess("false" as unknown as boolean))).message).to.match(
        /Invalid allowed false: expected true or false/,
      );
    });
  });

  describe("key rotation in two steps", function () {
    it("should propose, show and accept a new key, retiring the old one", async function () {
      const { clinicClient, client, providers, clinic, other } = await loadFixture(deploySdk);
      await expect(await clinicClient.rotateKey(other.address))
        .to.emit(providers, "KeyRotationProposed")
        .withArgs(clinic.address, clinic.address, other.address);
      expect(await clinicClient.providerKeys(clinic.address)).to.deep.equal({
        id: clinic.address,
        current: clinic.address,
        keys: [clinic.address],
        proposed: other.address,
      });
      await client(other).acceptKey(clinic.address);
      expect(await clinicClient.providerKeys(other.address)).to.deep.equal({
        id: clinic.address,
        current: other.address,
        keys: [clinic.address, other.address],
      });
      expect(await clinicClient.currentKeyOf(clinic.address)).to.equal(other.address);
      expect(await clinicClient.keysOf(clinic.address)).to.deep.equal([clinic.address, other.address]);
      expect(await clinicClient.proposedKeyOf(clinic.address)).to.equal(ethers.ZeroAddress);
      expect((await clinicClient.providerStatus(clinic.address)).status).to.equal(ProviderStatus.Retired);
    });

    it("should refuse an accept by any key but the proposed one, and a proposal of a registered key", async function () {
      const { clinicClient, client, clinic, other, stranger, emergencyDoctor } = await loadFixture(deploySdk);
      expect((await rejection(client(other).acceptKey(clinic.address))).message).to.equal(
        `Provider ${clinic.address} has no rotation pending, not ${other.address}: only the proposed key accepts a rotation`,
      );
      await clinicClient.rotateKey(other.address);
      expect((await rejection(client(stranger).acceptKey(clinic.address))).message).to.match(
        new RegExp(`proposed ${other.address}, not ${stranger.address}`),
      );
      expect((await rejection(clinicClient.rotateKey(emergencyDoctor.address))).message).to.match(
        /is, or once was, a registered provider key/,
      );
      await clinicClient.withdrawKeyRotation();
      expect(await clinicClient.proposedKeyOf(clinic.address)).to.equal(ethers.ZeroAddress);
      const raw = (await rejection(
        client(other)
          .providers.acceptKey(clinic.address)
          .then((tx) => tx.wait()),
      )) as Error;
      expect(decodeError(raw).message).to.equal(
        `${other.address} is not the key provider ${clinic.address} proposed: only the proposed key accepts a ` +
          "rotation (the provider proposes it first with rotateKey).",
      );
    });
  });

  describe("ANY_CATEGORY is not a data category", function () {
    it('should refuse "*" as the category of a record, a check or an access before sending', async function () {
      const { patientClient, clinicClient, patient, clinic } = await loadFixture(deploySdk);
      const sent = await ethers.provider.getTransactionCount(patient.address);
      const message = /"\*" \(every category\) is a scope of consents, never the category of data/;
      expect(
        (
          await rejection(
            patientClient.anchor({ patient: patient.address, category: "*", bytes: new Uint8Array([1]), uri: "" }),
          )
        ).message,
      ).to.match(message);
      expect(
        (await rejection(patientClient.isAuthorized(patient.address, clinic.address, "*", "TREAT", "access"))).message,
      ).to.match(message);
      expect((await rejection(clinicClient.recordAccess(patient.address, "*", "TREAT", "access"))).message).to.match(
        message,
      );
      expect(await ethers.provider.getTransactionCount(patient.address)).to.equal(sent);
    });
  });

  describe("providers and access", function () {
    it("should record an access under consent and refuse one without", async function () {
      const { patientClient, clinicClient, consents, patient, clinic } = await loadFixture(deploySdk);
      const refused = (await rejection(
        clinicClient.recordAccess(patient.address, "laboratory", Purpose.TREAT, Action.ACCESS),
      )) as ConsentError;
      expect(refused.errorName).to.equal("NotAuthorized");
      expect(refused.message).to.equal(
        `${clinic.address} is not authorised to access category laboratory of patient ${patient.address} for purpose TREAT right now.`,
      );
      await patientClient.grant(await grantParams(clinic.address));
      const record = ethers.id("record");
      await expect(await clinicClient.recordAccess(patient.address, "laboratory", "TREAT", "access", record))
        .to.emit(consents, "AccessRecorded")
        .withArgs(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS, record);
    });

    it("should open and close break-glass access, sending only the reason's hash", async function () {
      const { patientClient, erClient, consents, patient, emergencyDoctor } = await loadFixture(deploySdk);
      const reason = "unconscious, suspected overdose";
      const receipt = await erClient.emergencyAccess(patient.address, reason);
      const tx = await ethers.provider.getTransaction(receipt.hash);
      expect(tx?.data).to.not.include(ethers.hexlify(ethers.toUtf8Bytes(reason)).slice(2));
      await expect(receipt)
        .to.emit(consents, "EmergencyAccessOpened")
        .withArgs(patient.address, emergencyDoctor.address, anyNumber(), anyNumber(), ethers.id(reason));
      expect(await erClient.isAuthorized(patient.address, emergencyDoctor.address, "mental-health", "ETREAT", "access"))
        .to.be.true;
      await patientClient.closeEmergencyAccess(emergencyDoctor.address);
      expect(await erClient.isAuthorized(patient.address, emergencyDoctor.address, "mental-health", "ETREAT", "access"))
        .to.be.false;
    });

    it("should refuse break-glass access once the patient refused it", async function () {
      const { patientClient, erClient, patient, emergencyDoctor } = await loadFixture(deploySdk);
      await patientClient.setEmergencyAccess(false);
      const error = (await rejection(erClient.emergencyAccess(patient.address, "trauma"))) as ConsentError;
      expect(error.errorName).to.equal("EmergencyAccessRefused");
      expect(error.message).to.equal(
        `Patient ${patient.address} has refused break-glass access, denied ${emergencyDoctor.address} every ` +
          "category, or closed its last window (until break-glass is turned off and on again, or the provider is " +
          "granted a consent).",
      );
    });

    it("should register, suspend and reinstate providers as a registrar", async function () {
      const { registrarClient, providers, lab } = await loadFixture(deploySdk);
      await expect(
        await registrarClient.registerProvider(lab.address, "npi:1234567890", Capability.TREATMENT, "ipfs://meta"),
      )
        .to.emit(providers, "ProviderRegistered")
        .withArgs(lab.address, ethers.id("npi:1234567890"), Capability.TREATMENT, "ipfs://meta", anyAddress());
      await registrarClient.suspendProvider(lab.address, "licence lapsed");
      expect((await registrarClient.providerStatus(lab.address)).status).to.equal(ProviderStatus.Suspended);
      await registrarClient.reinstateProvider(lab.address);
      expect(await providers.isActive(lab.address)).to.be.true;
    });

    it("should decode a registrar role refusal and refuse bad capabilities before sending", async function () {
      const { client, stranger, lab } = await loadFixture(deploySdk);
      const outsider = client(stranger);
      const error = (await rejection(
        outsider.registerProvider(lab.address, "npi:1", Capability.TREATMENT),
      )) as ConsentError;
      expect(error.errorName).to.equal("AccessControlUnauthorizedAccount");
      expect(error.message).to.equal(`${stranger.address} does not hold the role REGISTRAR_ROLE needed for this.`);
      expect((await rejection(outsider.registerProvider(lab.address, "npi:1", 8))).message).to.match(
        /Invalid capabilities 8/,
      );
    });
  });

  describe("records", function () {
    it("should anchor, verify and retract a record", async function () {
      const { patientClient, patient } = await loadFixture(deploySdk);
      const bytes = ethers.toUtf8Bytes("HbA1c 5.4%");
      const anchored = await patientClient.anchor({
        patient: patient.address,
        category: "laboratory",
        bytes,
        uri: "ipfs://x",
      });
      expect(anchored.contentHash).to.equal(contentHash(bytes));
      expect(anchored.recordId).to.equal(recordId(patient.address, contentHash(bytes)));
      const verified = await patientClient.verifyFile(patient.address, bytes);
      expect(verified.anchored).to.be.true;
      expect(verified.status).to.equal(RecordStatus.Active);
      await patientClient.retract(anchored.recordId, "wrong patient");
      expect((await patientClient.verifyFile(patient.address, bytes)).status).to.equal(RecordStatus.Retracted);
    });

    it("should decode a refused anchor", async function () {
      const { client, stranger, patient } = await loadFixture(deploySdk);
      const error = (await rejection(
        client(stranger).anchor({
          patient: patient.address,
          category: "imaging",
          contentHash: ethers.id("x"),
          uri: "",
        }),
      )) as ConsentError;
      expect(error.errorName).to.equal("NotAuthorizedWriter");
      expect(error.message).to.match(
        new RegExp(`^${stranger.address} may not anchor records of patient ${patient.address} in category imaging`),
      );
    });

    it("should anchor a batch and verify its items with their submitter", async function () {
      const { clinicClient, patient, lab } = await loadFixture(deploySdk);
      const items = [
        { patient: patient.address, category: "laboratory", contentHash: ethers.id("a") },
        { patient: lab.address, category: "imaging", contentHash: ethers.id("b") },
      ];
      const batch = await clinicClient.anchorBatch(items, "ipfs://batch");
      const checked = await clinicClient.verifyBatchItem(batch.batchId, batch.proofs[1], items[1]);
      expect(checked).to.deep.equal({
        valid: true,
        retracted: false,
        submitter: await clinicClient.address(),
        submitterIsActiveProvider: true,
      });
      const wrong = await clinicClient.verifyBatchItem(batch.batchId, batch.proofs[0], items[1]);
      expect(wrong.valid).to.be.false;
    });

    it("should let the patient retract one item of a batch, and no one else", async function () {
      const { clinicClient, patientClient, client, records, patient, stranger, lab } = await loadFixture(deploySdk);
      const items = [
        { patient: patient.address, category: "laboratory", contentHash: ethers.id("a") },
        { patient: lab.address, category: "imaging", contentHash: ethers.id("b") },
      ];
      const batch = await clinicClient.anchorBatch(items, "ipfs://batch");
      const refused = (await rejection(
        client(stranger).retractBatchItem(batch.batchId, items[0], "not mine"),
      )) as ConsentError;
      expect(refused.errorName).to.equal("NotAuthorizedBatchRetractor");
      expect(refused.message).to.equal(
        `${stranger.address} may not retract a batch item of patient ${patient.address}: only the patient or a live ` +
          "delegate of the patient may.",
      );
      await expect(await patientClient.retractBatchItem(batch.batchId, items[0], "never my record"))
        .to.emit(records, "BatchItemRetracted")
        .withArgs(batch.batchId, anyString(), patient.address, ethers.id("never my record"), patient.address);
      expect(await patientClient.isBatchItemRetracted(batch.batchId, items[0])).to.be.true;
      const checked = await patientClient.verifyBatchItem(batch.batchId, batch.proofs[0], items[0]);
      expect(checked).to.deep.include({ valid: false, retracted: true });
      expect((await patientClient.verifyBatchItem(batch.batchId, batch.proofs[1], items[1])).valid).to.be.true;
      const again = (await rejection(patientClient.retractBatchItem(batch.batchId, items[0], "again"))) as ConsentError;
      expect(again.errorName).to.equal("BatchItemAlreadyRetracted");
      const unknown = (await rejection(patientClient.retractBatchItem(12345n, items[0], "x"))) as ConsentError;
      expect(unknown.message).to.equal("No batch 12345 was anchored.");
      expect((await rejection(patientClient.retractBatchItem(batch.batchId, items[0], " "))).message).to.match(
        /Give the reason/,
      );
    });

    it("should refuse a batch from an account that is not an active provider", async function () {
      const { patientClient, patient } = await loadFixture(deploySdk);
      const items = [{ patient: patient.address, category: "laboratory", contentHash: ethers.id("a") }];
      const error = (await rejection(patientClient.anchorBatch(items, ""))) as ConsentError;
      expect(error.errorName).to.equal("NotActiveProvider");
      expect(error.message).to.equal(
        `${patient.address} is not an active registered provider: only active providers anchor batches.`,
      );
    });
  });

  describe("FHIR", function () {
    it("should express a stored consent as FHIR and apply it back for another patient", async function () {
      const { patientClient, client, patient, clinic, other } = await loadFixture(deploySdk);
      const params = await grantParams(clinic.address, { purposes: [Purpose.TREAT, Purpose.CAREMGT] });
      await patientClient.grant(params);
      const resource = await patientClient.fhirConsent(patient.address, clinic.address, "laboratory");
      expect(resource.status).to.equal("active");
      // The resource names its patient: only that patient may apply it.
      const error = await rejection(client(other).applyFhirConsent(resource));
      expect(error.message).to.match(/^Consent.patient(\.identifier)?: the consent is for/);
      const patientless = { ...resource, patient: undefined };
      await client(other).applyFhirConsent(patientless);
      const copy = await client(other).consentOf(other.address, clinic.address, "laboratory");
      const original = await patientClient.consentOf(patient.address, clinic.address, "laboratory");
      expect(copy.status).to.equal(ConsentStatus.Active);
      expect(copy.consent.purposes).to.equal(original.consent.purposes);
      expect(copy.consent.actions).to.equal(original.consent.actions);
      expect(copy.consent.expiresAt).to.equal(original.consent.expiresAt);
    });
  });
});

/** A chai-matchers predicate accepting any number (timestamps set by the chain). */
function anyNumber() {
  return (value: unknown) => typeof value === "bigint" || typeof value === "number";
}

function anyString() {
  return (value: unknown) => typeof value === "string";
}

function anyAddress() {
  return (value: unknown) => typeof value === "string" && ethers.isAddress(value);
}
