/**
 * Adversarial tests: what an attacker (a hostile wallet, a relayer, a delegate, a suspended provider) tries against the
 * registries, and the boundaries of the packed uint40 times. Each test names the attack and proves it fails (or
 * states precisely the limit that applies).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, concat, dataLength, Signature, toBeHex, Wallet, ZeroAddress, zeroPadBytes } from "ethers";

import type { ConsentRegistry, ReentrantWallet } from "../../typechain-types";
import {
  Action,
  actionMask,
  ALL_ACTIONS,
  ALL_PURPOSES,
  Capability,
  categoryId,
  ConsentStatus,
  Purpose,
  purposeMask,
} from "../../src/codes";
import { consentDomain, grantDigest, signGrant, signRevoke, type GrantRequest } from "../../src/eip712";
import { DAY, deployWithProviders } from "../helpers/fixtures";

const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");
const TREAT = purposeMask(Purpose.TREAT);
const ACCESS = actionMask(Action.ACCESS);
const REASON = ethers.id("unconscious patient");
const SECP256K1_N = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
/** The largest uint40: the last second a packed time can name. */
const MAX40 = 2n ** 40n - 1n;
const GAS = 3_000_000;

/** ReentrantWallet.Mode */
const Mode = { Plain: 0, Lenient: 1, Strict: 2, ExpectResult: 3, Revert: 4 } as const;

async function deployAdversarial() {
  const fixture = await deployWithProviders();
  const signers = await ethers.getSigners();
  const { chainId } = await ethers.provider.getNetwork();
  const registry = await fixture.consents.getAddress();
  const walletOwner = fixture.other;
  const wallet = (await ethers.deployContract("ReentrantWallet", [walletOwner.address])) as unknown as ReentrantWallet;
  const now = await time.latest();
  return {
    ...fixture,
    accomplice: signers[12],
    delegate2: signers[13],
    newKey: signers[14],
    domain: consentDomain(chainId, registry),
    registry,
    wallet,
    walletAddress: await wallet.getAddress(),
    walletOwner,
    expiresAt: now + 30 * DAY,
    deadline: now + DAY,
  };
}

type Fixture = Awaited<ReturnType<typeof deployAdversarial>>;

function grantRequest(
  patient: string,
  grantee: string,
  expiresAt: number | bigint,
  changes: Partial<GrantRequest> = {},
) {
  return {
    patient,
    grantee,
    category: LAB,
    purposes: TREAT,
    actions: ACCESS,
    notBefore: 0,
    expiresAt,
    ...changes,
  } satisfies GrantRequest;
}

async function statusOf(
  consents: ConsentRegistry,
  patient: string,
  grantee: string,
  category = LAB,
): Promise<ConsentStatus> {
  const [, status] = await consents.consentOf(patient, grantee, category);
  return Number(status) as ConsentStatus;
}

/** The number of ConsentGranted events a transaction emitted. */
async function grantsEmitted(f: Fixture, tx: Promise<{ wait(): Promise<unknown> }>): Promise<number> {
  const receipt = (await (await tx).wait()) as { logs: { topics: readonly string[] }[] };
  const topic = f.consents.interface.getEvent("ConsentGranted").topicHash;
  return receipt.logs.filter((log) => log.topics[0] === topic).length;
}

describe("Adversarial: attacks on the registries", function () {
  describe("reentrancy through an ERC-1271 wallet's isValidSignature", function () {
    /** The wallet (as patient) signs a grant to `clinic` with nonce 0; returns what a relayer submits. */
    async function walletGrant(f: Fixture) {
      const request = grantRequest(f.walletAddress, f.clinic.address, f.expiresAt);
      const signature = await signGrant(f.walletOwner, f.domain, request, 0, f.deadline);
      return { request, signature };
    }

    async function configure(f: Fixture, mode: number, callback: string, expected = "0x") {
      await f.wallet.connect(f.walletOwner).configure(mode, f.registry, callback, expected);
    }

    it("should accept the hostile wallet's plain signature (the baseline the attacks below start from)", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await walletGrant(f);
      await expect(f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature))
        .to.emit(f.consents, "ConsentGranted")
        .withArgs(f.walletAddress, f.clinic.address, LAB, TREAT, ACCESS, anyTime(), f.expiresAt);
      expect(await f.consents.nonces(f.walletAddress)).to.equal(1n);
    });

    it("should call the wallet with STATICCALL: a reentrant useNonce() fails, so a wallet that insists on it is refused with InvalidSignature and no nonce is consumed", async function () {
      const f = await loadFixture(deployAdversarial);
      const useNonce = f.consents.interface.encodeFunctionData("useNonce");
      // Outside a signature check, the very same call from the wallet works (nonce 0 -> 1).
      await f.wallet.connect(f.walletOwner).execute(f.registry, useNonce);
      expect(await f.consents.nonces(f.walletAddress)).to.equal(1n);
      const request = grantRequest(f.walletAddress, f.clinic.address, f.expiresAt);
      const signature = await signGrant(f.walletOwner, f.domain, request, 1, f.deadline);

      await configure(f, Mode.Strict, useNonce);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await f.consents.nonces(f.walletAddress)).to.equal(1n);
      expect(await statusOf(f.consents, f.walletAddress, f.clinic.address)).to.equal(ConsentStatus.None);

      // The signature itself was fine: without the reentry it goes through, once.
      await configure(f, Mode.Plain, "0x");
      await f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature);
      expect(await f.consents.nonces(f.walletAddress)).to.equal(2n);
      expect(await statusOf(f.consents, f.walletAddress, f.clinic.address)).to.equal(ConsentStatus.Active);
    });

    it("should not let a grant slip in during the check: the signed grant is stored alone and the reentrant one is not", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await walletGrant(f);
      const sneaky = f.consents.interface.encodeFunctionData("grant", [
        f.accomplice.address,
        LAB,
        ALL_PURPOSES,
        ALL_ACTIONS,
        0,
        f.expiresAt,
      ]);
      await configure(f, Mode.Lenient, sneaky);

      const emitted = await grantsEmitted(
        f,
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      );
      expect(emitted).to.equal(1);
      expect(await statusOf(f.consents, f.walletAddress, f.clinic.address)).to.equal(ConsentStatus.Active);
      expect(await statusOf(f.consents, f.walletAddress, f.accomplice.address)).to.equal(ConsentStatus.None);
      expect(await f.consents.isAuthorized(f.walletAddress, f.accomplice.address, LAB, Purpose.TREAT, Action.ACCESS)).to
        .be.false;
      expect(await f.consents.nonces(f.walletAddress)).to.equal(1n);
    });

    it("should never use a signature twice, even when the wallet resubmits it from inside its own check", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await walletGrant(f);
      const resubmit = f.consents.interface.encodeFunctionData("grantWithSig", [request, f.deadline, signature]);

      // A wallet that needs the resubmission to succeed never validates...
      await configure(f, Mode.Strict, resubmit);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await f.consents.nonces(f.walletAddress)).to.equal(0n);

      // ...and one that ignores its failure gets exactly one use of it.
      await configure(f, Mode.Lenient, resubmit);
      const emitted = await grantsEmitted(
        f,
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      );
      expect(emitted).to.equal(1);
      expect(await f.consents.nonces(f.walletAddress)).to.equal(1n);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
    });

    it("should consume the nonce before calling the wallet (checks-effects-interactions): during the check the wallet already reads the next nonce", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await walletGrant(f);
      const readNonce = f.consents.interface.encodeFunctionData("nonces", [f.walletAddress]);
      const encode = (n: number) => AbiCoder.defaultAbiCoder().encode(["uint256"], [n]);

      await configure(f, Mode.ExpectResult, readNonce, encode(0));
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");

      await configure(f, Mode.ExpectResult, readNonce, encode(1));
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.emit(f.consents, "ConsentGranted");
    });

    it("should refuse with InvalidSignature, not the wallet's own error, when the wallet reverts, and consume no nonce", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await walletGrant(f);
      await configure(f, Mode.Revert, "0x");
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await f.consents.nonces(f.walletAddress)).to.equal(0n);
    });

    it("should not let a reentrant revocation through either (revokeWithSig)", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await walletGrant(f);
      await f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature);
      const revokeSignature = await signRevoke(
        f.walletOwner,
        f.domain,
        { patient: f.walletAddress, grantee: f.clinic.address, category: LAB },
        1,
        f.deadline,
      );
      const sneaky = f.consents.interface.encodeFunctionData("revokeAll");
      await configure(f, Mode.Strict, sneaky);
      await expect(
        f.consents
          .connect(f.relayer)
          .revokeWithSig(f.walletAddress, f.clinic.address, LAB, f.deadline, revokeSignature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await f.consents.epochOf(f.walletAddress)).to.equal(0n);
      expect(await statusOf(f.consents, f.walletAddress, f.clinic.address)).to.equal(ConsentStatus.Active);
    });
  });

  describe("malformed signatures of an EOA patient", function () {
    async function signed(f: Fixture) {
      const request = grantRequest(f.patient.address, f.clinic.address, f.expiresAt);
      const signature = await signGrant(f.patient, f.domain, request, 0, f.deadline);
      return { request, signature };
    }

    it("should refuse the high-s twin of a valid signature (s -> n - s, v flipped) and consume no nonce", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await signed(f);
      const sig = Signature.from(signature);
      const twin = concat([sig.r, toBeHex(SECP256K1_N - BigInt(sig.s), 32), toBeHex(sig.v === 27 ? 28 : 27, 1)]);
      // The twin is a valid secp256k1 signature of the same digest (the ecrecover precompile says so): only the
      // low-s rule tells them apart.
      const input = AbiCoder.defaultAbiCoder().encode(
        ["bytes32", "uint8", "bytes32", "uint256"],
        [grantDigest(f.domain, request, 0, f.deadline), sig.v === 27 ? 28 : 27, sig.r, SECP256K1_N - BigInt(sig.s)],
      );
      const recovered = await ethers.provider.call({ to: "0x0000000000000000000000000000000000000001", data: input });
      expect(AbiCoder.defaultAbiCoder().decode(["address"], recovered)[0]).to.equal(f.patient.address);
      await expect(f.consents.connect(f.relayer).grantWithSig(request, f.deadline, twin)).to.be.revertedWithCustomError(
        f.consents,
        "InvalidSignature",
      );
      expect(await f.consents.nonces(f.patient.address)).to.equal(0n);
      await f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature);
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Active);
    });

    for (const [length, make] of [
      [0, () => "0x"],
      [64, (s: string) => Signature.from(s).compactSerialized], // ERC-2098 compact form of the valid signature
      [66, (s: string) => concat([s, "0x00"])],
      [200, (s: string) => zeroPadBytes(s, 200)],
    ] as [number, (s: string) => string][]) {
      it(`should refuse a ${length}-byte signature built from a valid one, and consume no nonce`, async function () {
        const f = await loadFixture(deployAdversarial);
        const { request, signature } = await signed(f);
        const bad = make(signature);
        expect(dataLength(bad)).to.equal(length);
        await expect(
          f.consents.connect(f.relayer).grantWithSig(request, f.deadline, bad),
        ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
        expect(await f.consents.nonces(f.patient.address)).to.equal(0n);
      });
    }

    it("should refuse v = 0 / 1 (instead of 27 / 28) and v = 29", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await signed(f);
      const sig = Signature.from(signature);
      for (const v of [sig.v - 27, 29]) {
        const bad = concat([sig.r, sig.s, toBeHex(v, 1)]);
        await expect(
          f.consents.connect(f.relayer).grantWithSig(request, f.deadline, bad),
        ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      }
    });
  });

  describe("the zero address as patient", function () {
    it("should never validate request.patient = address(0), whatever the signature, and never move its nonce", async function () {
      const f = await loadFixture(deployAdversarial);
      const request = grantRequest(ZeroAddress, f.clinic.address, f.expiresAt);
      const stranger = Wallet.createRandom();
      const candidates = [
        "0x",
        `0x${"00".repeat(65)}`, // ecrecover returns address(0) for it
        concat([toBeHex(1, 32), toBeHex(1, 32), "0x1b"]),
        concat([toBeHex(SECP256K1_N - 1n, 32), toBeHex(7, 32), "0x1c"]),
        await signGrant(stranger, f.domain, request, 0, f.deadline),
        await signGrant(f.patient, f.domain, request, 0, f.deadline),
        `0x${"ff".repeat(200)}`,
      ];
      for (const signature of candidates) {
        await expect(
          f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature),
        ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
        await expect(
          f.consents.connect(f.relayer).revokeWithSig(ZeroAddress, f.clinic.address, LAB, f.deadline, signature),
        ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      }
      expect(await f.consents.nonces(ZeroAddress)).to.equal(0n);
      expect(await statusOf(f.consents, ZeroAddress, f.clinic.address)).to.equal(ConsentStatus.None);
    });
  });

  describe("uint40 boundary times", function () {
    // These tests move the clock to 2^40: go back to the fixture's snapshot (and its time) so that nothing after them,
    // in this file or the next, starts in the year 36812.
    after(async function () {
      await loadFixture(deployAdversarial);
      expect(BigInt(await time.latest())).to.be.lessThan(MAX40 - 365n * BigInt(DAY));
    });

    it("should accept expiresAt = 2^40 - 1, the largest packed time, as an Active permit", async function () {
      const f = await loadFixture(deployAdversarial);
      await expect(f.consents.connect(f.patient).grant(f.clinic.address, LAB, TREAT, ACCESS, 0, MAX40))
        .to.emit(f.consents, "ConsentGranted")
        .withArgs(f.patient.address, f.clinic.address, LAB, TREAT, ACCESS, anyTime(), MAX40);
      const [consent, status] = await f.consents.consentOf(f.patient.address, f.clinic.address, LAB);
      expect(consent.expiresAt).to.equal(MAX40);
      expect(status).to.equal(ConsentStatus.Active);
      expect(await f.consents.isAuthorized(f.patient.address, f.clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to
        .be.true;
    });

    it("should keep notBefore = 2^40 - 2 Pending, and refuse notBefore = expiresAt = 2^40 - 1 with InvalidPeriod", async function () {
      const f = await loadFixture(deployAdversarial);
      await f.consents.connect(f.patient).grant(f.clinic.address, LAB, TREAT, ACCESS, MAX40 - 1n, MAX40);
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Pending);
      expect(await f.consents.isAuthorized(f.patient.address, f.clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to
        .be.false;
      await expect(f.consents.connect(f.patient).grant(f.clinic.address, IMAGING, TREAT, ACCESS, MAX40, MAX40))
        .to.be.revertedWithCustomError(f.consents, "InvalidPeriod")
        .withArgs(MAX40, MAX40);
      await f.consents.connect(f.patient).setDelegate(f.delegate.address, MAX40);
      expect(await f.consents.delegateExpiry(f.patient.address, f.delegate.address)).to.equal(MAX40);
    });

    it("should refuse a time that does not fit in uint40 at the ABI decoder (2^40), storing nothing", async function () {
      const f = await loadFixture(deployAdversarial);
      const selector = f.consents.interface.getFunction("grant").selector;
      const args = AbiCoder.defaultAbiCoder().encode(
        ["address", "bytes32", "uint32", "uint8", "uint40", "uint256"],
        [f.clinic.address, LAB, TREAT, ACCESS, 0, 2n ** 40n],
      );
      await expect(f.patient.sendTransaction({ to: f.registry, data: concat([selector, args]), gasLimit: GAS })).to.be
        .reverted;
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.None);
    });

    it("should keep the last permits working up to 2^40 - 1 and end them exactly there (time travel to the boundary)", async function () {
      const f = await loadFixture(deployAdversarial);
      await f.consents.connect(f.patient).grant(f.clinic.address, LAB, TREAT, ACCESS, 0, MAX40);
      await f.consents.connect(f.patient).grant(f.lab.address, LAB, TREAT, ACCESS, MAX40 - 5n, MAX40);
      await f.consents.connect(f.patient).setDelegate(f.delegate.address, MAX40);

      await time.setNextBlockTimestamp(MAX40 - 5n);
      await mine();
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Active);
      expect(await statusOf(f.consents, f.patient.address, f.lab.address)).to.equal(ConsentStatus.Active);
      expect(await f.consents.isDelegate(f.patient.address, f.delegate.address)).to.be.true;
      // A grant now may still run to the boundary, not past it.
      await f.consents.connect(f.patient).grant(f.accomplice.address, LAB, TREAT, ACCESS, 0, MAX40);

      await time.setNextBlockTimestamp(MAX40);
      await mine();
      for (const grantee of [f.clinic.address, f.lab.address, f.accomplice.address]) {
        expect(await statusOf(f.consents, f.patient.address, grantee)).to.equal(ConsentStatus.Expired);
        expect(await f.consents.isAuthorized(f.patient.address, grantee, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .false;
      }
      expect(await f.consents.isDelegate(f.patient.address, f.delegate.address)).to.be.false;
      // Nothing can be granted any more: every uint40 expiry is in the past.
      await time.setNextBlockTimestamp(MAX40 + 1n);
      await expect(f.consents.connect(f.patient).grant(f.clinic.address, IMAGING, TREAT, ACCESS, 0, MAX40))
        .to.be.revertedWithCustomError(f.consents, "ExpiryNotInFuture")
        .withArgs(MAX40, MAX40 + 1n);
    });

    it("should open a break-glass window up to 2^40 - 1, and refuse (arithmetic panic, no custom error) one that would end after it", async function () {
      const f = await loadFixture(deployAdversarial);
      const window = BigInt(DAY);
      await time.setNextBlockTimestamp(MAX40 - window);
      await expect(f.consents.connect(f.emergencyDoctor).emergencyAccess(f.patient.address, REASON))
        .to.emit(f.consents, "EmergencyAccessOpened")
        .withArgs(f.patient.address, f.emergencyDoctor.address, MAX40 - window, MAX40, REASON);
      // Documented limit (year 36812): the window end `now + 24 h` overflows uint40 in the last day before 2^40.
      await time.setNextBlockTimestamp(MAX40 - window + 1n);
      await expect(
        f.consents.connect(f.emergencyDoctor).emergencyAccess(f.patient.address, REASON),
      ).to.be.revertedWithPanic(0x11);
    });
  });

  describe("a delegate trying to appoint a delegate", function () {
    async function withDelegate() {
      const f = await deployAdversarial();
      await f.consents.connect(f.patient).setDelegate(f.delegate.address, f.expiresAt);
      return f;
    }

    it("should only appoint the delegate's own delegate: the appointee cannot act for the patient (NotDelegate)", async function () {
      const f = await loadFixture(withDelegate);
      await expect(f.consents.connect(f.delegate).setDelegate(f.accomplice.address, f.expiresAt))
        .to.emit(f.consents, "DelegateSet")
        .withArgs(f.delegate.address, f.accomplice.address, f.expiresAt);
      expect(await f.consents.isDelegate(f.patient.address, f.accomplice.address)).to.be.false;
      await expect(
        f.consents
          .connect(f.accomplice)
          .grantFor(f.patient.address, f.accomplice.address, LAB, TREAT, ACCESS, 0, f.expiresAt),
      )
        .to.be.revertedWithCustomError(f.consents, "NotDelegate")
        .withArgs(f.patient.address, f.accomplice.address);
      // The delegate itself still acts for the patient.
      await f.consents
        .connect(f.delegate)
        .grantFor(f.patient.address, f.clinic.address, LAB, TREAT, ACCESS, 0, f.expiresAt);
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Active);
    });

    it("should not escalate through multicall either", async function () {
      const f = await loadFixture(withDelegate);
      const calls = [
        f.consents.interface.encodeFunctionData("setDelegate", [f.accomplice.address, f.expiresAt]),
        f.consents.interface.encodeFunctionData("grantFor", [
          f.patient.address,
          f.clinic.address,
          LAB,
          TREAT,
          ACCESS,
          0,
          f.expiresAt,
        ]),
      ];
      await f.consents.connect(f.delegate).multicall(calls);
      expect(await f.consents.isDelegate(f.patient.address, f.accomplice.address)).to.be.false;
      expect(await f.consents.isDelegate(f.delegate.address, f.accomplice.address)).to.be.true;
      await expect(f.consents.connect(f.accomplice).denyFor(f.patient.address, f.clinic.address, LAB))
        .to.be.revertedWithCustomError(f.consents, "NotDelegate")
        .withArgs(f.patient.address, f.accomplice.address);
    });

    it("should not let a delegate remove the patient's other delegates (DelegateNotFound: it only manages its own)", async function () {
      const f = await loadFixture(withDelegate);
      await f.consents.connect(f.patient).setDelegate(f.delegate2.address, f.expiresAt);
      await expect(f.consents.connect(f.delegate).removeDelegate(f.delegate2.address))
        .to.be.revertedWithCustomError(f.consents, "DelegateNotFound")
        .withArgs(f.delegate.address, f.delegate2.address);
      expect(await f.consents.isDelegate(f.patient.address, f.delegate2.address)).to.be.true;
    });

    it("should have no function that appoints or removes a delegate for someone else", async function () {
      const f = await loadFixture(withDelegate);
      const writers = f.consents.interface.fragments
        .filter((fragment) => fragment.type === "function")
        .map((fragment) => fragment as unknown as { name: string; stateMutability: string; inputs: { name: string }[] })
        .filter((fn) => /delegate/i.test(fn.name) && fn.stateMutability !== "view");
      expect(writers.map((fn) => `${fn.name}(${fn.inputs.map((i) => i.name).join(",")})`)).to.have.members([
        "setDelegate(delegate,expiresAt)",
        "removeDelegate(delegate)",
      ]);
    });
  });

  describe("a suspended provider and break-glass access", function () {
    it("should refuse a suspended provider's emergency access (NotEmergencyProvider)", async function () {
      const f = await loadFixture(deployAdversarial);
      await f.providers.connect(f.registrar).suspend(f.emergencyDoctor.address, REASON);
      await expect(f.consents.connect(f.emergencyDoctor).emergencyAccess(f.patient.address, REASON))
        .to.be.revertedWithCustomError(f.consents, "NotEmergencyProvider")
        .withArgs(f.emergencyDoctor.address);
    });

    it("should stop an open window from authorising the moment the provider is suspended, and resume it on reinstatement", async function () {
      const f = await loadFixture(deployAdversarial);
      await f.consents.connect(f.emergencyDoctor).emergencyAccess(f.patient.address, REASON);
      const check = () =>
        f.consents.isAuthorized(f.patient.address, f.emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS);
      expect(await check()).to.be.true;
      await f.providers.connect(f.registrar).suspend(f.emergencyDoctor.address, REASON);
      expect(await check()).to.be.false;
      await expect(
        f.consents
          .connect(f.emergencyDoctor)
          .recordAccess(f.patient.address, LAB, Purpose.ETREAT, Action.ACCESS, ethers.ZeroHash),
      )
        .to.be.revertedWithCustomError(f.consents, "NotAuthorized")
        .withArgs(f.patient.address, f.emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS);
      await f.providers.connect(f.registrar).reinstate(f.emergencyDoctor.address);
      expect(await check()).to.be.true;
    });

    it("should stop the window when the EMERGENCY capability is withdrawn, and refuse to open a new one", async function () {
      const f = await loadFixture(deployAdversarial);
      await f.consents.connect(f.emergencyDoctor).emergencyAccess(f.patient.address, REASON);
      await f.providers.connect(f.registrar).setCapabilities(f.emergencyDoctor.address, Capability.TREATMENT);
      expect(
        await f.consents.isAuthorized(f.patient.address, f.emergencyDoctor.address, LAB, Purpose.ETREAT, Action.ACCESS),
      ).to.be.false;
      await expect(f.consents.connect(f.emergencyDoctor).emergencyAccess(f.patient.address, REASON))
        .to.be.revertedWithCustomError(f.consents, "NotEmergencyProvider")
        .withArgs(f.emergencyDoctor.address);
    });

    it("should refuse emergency access from a retired (rotated) key", async function () {
      const f = await loadFixture(deployAdversarial);
      await f.providers.connect(f.emergencyDoctor).rotateKey(f.newKey.address);
      await expect(f.consents.connect(f.emergencyDoctor).emergencyAccess(f.patient.address, REASON))
        .to.be.revertedWithCustomError(f.consents, "NotEmergencyProvider")
        .withArgs(f.emergencyDoctor.address);
      await expect(f.consents.connect(f.newKey).emergencyAccess(f.patient.address, REASON)).to.emit(
        f.consents,
        "EmergencyAccessOpened",
      );
    });
  });

  describe("front-running and reordering signed grants and revocations", function () {
    async function signedPair(f: Fixture) {
      const request = grantRequest(f.patient.address, f.clinic.address, f.expiresAt);
      const grantSignature = await signGrant(f.patient, f.domain, request, 0, f.deadline);
      const revokeSignature = await signRevoke(
        f.patient,
        f.domain,
        { patient: f.patient.address, grantee: f.clinic.address, category: LAB },
        1,
        f.deadline,
      );
      return { request, grantSignature, revokeSignature };
    }

    it("should let the patient cancel an unsubmitted signed grant with useNonce(): the relayer's later submission fails", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, grantSignature } = await signedPair(f);
      await expect(f.consents.connect(f.patient).useNonce()).to.not.be.reverted;
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, grantSignature),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.None);
    });

    it("should refuse a revoke signed after a grant (nonce 1) submitted before it (nonce 0): a relayer cannot reorder them", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, grantSignature, revokeSignature } = await signedPair(f);
      const submitRevoke = () =>
        f.consents
          .connect(f.relayer)
          .revokeWithSig(f.patient.address, f.clinic.address, LAB, f.deadline, revokeSignature);
      const submitGrant = () => f.consents.connect(f.relayer).grantWithSig(request, f.deadline, grantSignature);

      await expect(submitRevoke()).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      await submitGrant();
      await submitRevoke();
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Revoked);
      // The stale grant cannot be brought back after the revocation.
      await expect(submitGrant()).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Revoked);
    });

    it("should let only one of two grants signed with the same nonce through", async function () {
      const f = await loadFixture(deployAdversarial);
      const toClinic = grantRequest(f.patient.address, f.clinic.address, f.expiresAt);
      const toLab = grantRequest(f.patient.address, f.lab.address, f.expiresAt);
      const clinicSignature = await signGrant(f.patient, f.domain, toClinic, 0, f.deadline);
      const labSignature = await signGrant(f.patient, f.domain, toLab, 0, f.deadline);
      await f.consents.connect(f.relayer).grantWithSig(toLab, f.deadline, labSignature);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(toClinic, f.deadline, clinicSignature),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await statusOf(f.consents, f.patient.address, f.lab.address)).to.equal(ConsentStatus.Active);
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.None);
    });

    it("should leave the consent revoked when a relayer front-runs the patient's own revoke with the signed grant", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, grantSignature } = await signedPair(f);
      await f.consents.connect(f.relayer).grantWithSig(request, f.deadline, grantSignature); // front-run
      await f.consents.connect(f.patient).revoke(f.clinic.address, LAB); // the patient's transaction lands after it
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Revoked);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, grantSignature),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
    });

    it("should need useNonce() (or the deadline), not a direct revoke, to cancel a signature still unsubmitted", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, grantSignature } = await signedPair(f);
      // Nothing is granted yet, so a direct revoke has nothing to withdraw and leaves the signature usable.
      await expect(f.consents.connect(f.patient).revoke(f.clinic.address, LAB))
        .to.be.revertedWithCustomError(f.consents, "NothingToRevoke")
        .withArgs(f.patient.address, f.clinic.address, LAB);
      await f.consents.connect(f.relayer).grantWithSig(request, f.deadline, grantSignature);
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Active);
      // After the deadline it is dead anyway.
      const late = grantRequest(f.patient.address, f.lab.address, f.expiresAt);
      const lateSignature = await signGrant(f.patient, f.domain, late, 1, f.deadline);
      await time.increaseTo(f.deadline + 1);
      await expect(f.consents.connect(f.relayer).grantWithSig(late, f.deadline, lateSignature))
        .to.be.revertedWithCustomError(f.consents, "SignatureExpired")
        .withArgs(f.deadline);
    });
  });
});

/** Any uint40 time (for withArgs on notBefore = the block time). */
function anyTime() {
  return (value: bigint) => typeof value === "bigint" && value >= 0n && value <= MAX40;
}
