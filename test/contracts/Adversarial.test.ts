/**
 * Adversarial tests: what an attacker (a hostile wallet, a relayer, a delegate, a suspended provider) tries against the
 * registries, and the boundaries of the packed uint40 times. Each test names the attack and proves it fails (or
 * states precisely the limit that applies).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, concat, dataLength, Signature, toBeHex, Wallet, ZeroAddress, zeroPadBytes } from "ethers";

import type { ConsentRegistry, ReentrantWallet } from "../../typechain-types";
import {
  Action,
  actionMask,
  ALL_ACTIONS,
  ALL_PURPOSES,
  ANY_CATEGORY,
  Capability,
  categoryId,
  ConsentStatus,
  Purpose,
  purposeMask,
} from "../../src/codes";
import { consentDomain, grantDigest, signGrant, signRevoke, type GrantRequest } from "../../src/eip712";
import { DAY, deployWithProviders, rotateKey } from "../helpers/fixtures";

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

/** The next signature nonce of (`patient`, clinic, laboratory), the key most tests sign for. */
async function nonceOf(f: Fixture, patient: string): Promise<bigint> {
  return f.consents.signatureNonce(patient, f.clinic.address, LAB);
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
        .withArgs(
          f.walletAddress,
          f.clinic.address,
          LAB,
          TREAT,
          ACCESS,
          anyTime(),
          f.expiresAt,
          f.relayer.address,
          true,
        );
      expect(await nonceOf(f, f.walletAddress)).to.equal(1n);
    });

    it("should call the wallet with STATICCALL: a reentrant cancelSignatures() fails, so a wallet that insists on it is refused with InvalidSignature and no nonce is consumed", async function () {
      const f = await loadFixture(deployAdversarial);
      const cancel = f.consents.interface.encodeFunctionData("cancelSignatures");
      // Outside a signature check, the very same call from the wallet works (signature epoch 0 -> 1).
      await f.wallet.connect(f.walletOwner).execute(f.registry, cancel);
      const epoch1 = 1n << 128n;
      expect(await nonceOf(f, f.walletAddress)).to.equal(epoch1);
      const request = grantRequest(f.walletAddress, f.clinic.address, f.expiresAt);
      const signature = await signGrant(f.walletOwner, f.domain, request, epoch1, f.deadline);

      await configure(f, Mode.Strict, cancel);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await nonceOf(f, f.walletAddress)).to.equal(epoch1);
      expect(await statusOf(f.consents, f.walletAddress, f.clinic.address)).to.equal(ConsentStatus.None);

      // The signature itself was fine: without the reentry it goes through, once.
      await configure(f, Mode.Plain, "0x");
      await f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature);
      expect(await nonceOf(f, f.walletAddress)).to.equal(epoch1 | 1n);
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
      expect(await nonceOf(f, f.walletAddress)).to.equal(1n);
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
      expect(await nonceOf(f, f.walletAddress)).to.equal(0n);

      // ...and one that ignores its failure gets exactly one use of it.
      await configure(f, Mode.Lenient, resubmit);
      const emitted = await grantsEmitted(
        f,
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      );
      expect(emitted).to.equal(1);
      expect(await nonceOf(f, f.walletAddress)).to.equal(1n);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
    });

    it("should ask the wallet read-only before writing anything: during the check the wallet reads the nonce being used and the key still empty, and nothing it does there can change them", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await walletGrant(f);
      const readNonce = f.consents.interface.encodeFunctionData("signatureNonce", [
        f.walletAddress,
        f.clinic.address,
        LAB,
      ]);
      const encode = (n: number) => AbiCoder.defaultAbiCoder().encode(["uint256"], [n]);

      await configure(f, Mode.ExpectResult, readNonce, encode(1));
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");

      await configure(f, Mode.ExpectResult, readNonce, encode(0));
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.emit(f.consents, "ConsentGranted");
      expect(await nonceOf(f, f.walletAddress)).to.equal(1n);
    });

    it("should refuse with InvalidSignature, not the wallet's own error, when the wallet reverts, and consume no nonce", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, signature } = await walletGrant(f);
      await configure(f, Mode.Revert, "0x");
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature, { gasLimit: GAS }),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await nonceOf(f, f.walletAddress)).to.equal(0n);
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
      expect(await nonceOf(f, f.patient.address)).to.equal(0n);
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
        expect(await nonceOf(f, f.patient.address)).to.equal(0n);
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
        // Nothing is ever stored for address(0): a signed revocation has nothing to withdraw.
        await expect(
          f.consents.connect(f.relayer).revokeWithSig(ZeroAddress, f.clinic.address, LAB, f.deadline, signature),
        )
          .to.be.revertedWithCustomError(f.consents, "NothingToRevoke")
          .withArgs(ZeroAddress, f.clinic.address, LAB);
      }
      expect(await f.consents.signatureNonce(ZeroAddress, f.clinic.address, LAB)).to.equal(0n);
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
        .withArgs(f.patient.address, f.clinic.address, LAB, TREAT, ACCESS, anyTime(), MAX40, f.patient.address, false);
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
      // (On another patient: the first window is still open, and open windows are not renewed.)
      await time.setNextBlockTimestamp(MAX40 - window + 1n);
      await expect(
        f.consents.connect(f.emergencyDoctor).emergencyAccess(f.lab.address, REASON),
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
      await rotateKey(f.providers, f.emergencyDoctor, f.newKey);
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

    it("should let the patient cancel an unsubmitted signed grant with cancelSignatures(): the relayer's later submission fails", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, grantSignature } = await signedPair(f);
      await expect(f.consents.connect(f.patient).cancelSignatures())
        .to.emit(f.consents, "SignaturesCancelled")
        .withArgs(f.patient.address, 1, f.patient.address);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(request, f.deadline, grantSignature),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.None);
    });

    it("should refuse a revoke signed after a grant (nonce 1 of the key) submitted before it (nonce 0): a relayer cannot reorder them", async function () {
      const f = await loadFixture(deployAdversarial);
      const { request, grantSignature, revokeSignature } = await signedPair(f);
      const submitRevoke = () =>
        f.consents
          .connect(f.relayer)
          .revokeWithSig(f.patient.address, f.clinic.address, LAB, f.deadline, revokeSignature);
      const submitGrant = () => f.consents.connect(f.relayer).grantWithSig(request, f.deadline, grantSignature);

      // Before the grant there is nothing to revoke (named before the signature is looked at).
      await expect(submitRevoke())
        .to.be.revertedWithCustomError(f.consents, "NothingToRevoke")
        .withArgs(f.patient.address, f.clinic.address, LAB);
      await submitGrant();
      await submitRevoke();
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Revoked);
      // The stale grant cannot be brought back after the revocation.
      await expect(submitGrant()).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      expect(await statusOf(f.consents, f.patient.address, f.clinic.address)).to.equal(ConsentStatus.Revoked);
    });

    it("should let only one of two grants signed for the same key with the same nonce through", async function () {
      const f = await loadFixture(deployAdversarial);
      const narrow = grantRequest(f.patient.address, f.clinic.address, f.expiresAt);
      const wide = grantRequest(f.patient.address, f.clinic.address, f.expiresAt, { purposes: ALL_PURPOSES });
      const narrowSignature = await signGrant(f.patient, f.domain, narrow, 0, f.deadline);
      const wideSignature = await signGrant(f.patient, f.domain, wide, 0, f.deadline);
      await f.consents.connect(f.relayer).grantWithSig(narrow, f.deadline, narrowSignature);
      await expect(
        f.consents.connect(f.relayer).grantWithSig(wide, f.deadline, wideSignature),
      ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
      const [consent] = await f.consents.consentOf(f.patient.address, f.clinic.address, LAB);
      expect(consent.purposes).to.equal(TREAT);
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

    it("should need cancelSignatures() (or the deadline), not a direct revoke of nothing, to cancel a signature still unsubmitted", async function () {
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
      const lateSignature = await signGrant(f.patient, f.domain, late, 0, f.deadline);
      await time.increaseTo(f.deadline + 1);
      await expect(f.consents.connect(f.relayer).grantWithSig(late, f.deadline, lateSignature))
        .to.be.revertedWithCustomError(f.consents, "SignatureExpired")
        .withArgs(f.deadline);
    });
  });

  describe("issue 11: signatures against denies, cancellation and ordering", function () {
    it("should refuse a stale signed revocation that would lift a deny given since (DenyInForce), and one signed after it too", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      await f.consents.connect(f.patient).grant(f.clinic.address, LAB, TREAT, ACCESS, 0, f.expiresAt);
      const revokeRequest = { patient: p, grantee: f.clinic.address, category: LAB };
      const stale = await signRevoke(f.patient, f.domain, revokeRequest, await nonceOf(f, p), f.deadline);
      await f.consents.connect(f.patient).deny(f.clinic.address, LAB);
      await expect(f.consents.connect(f.relayer).revokeWithSig(p, f.clinic.address, LAB, f.deadline, stale))
        .to.be.revertedWithCustomError(f.consents, "DenyInForce")
        .withArgs(p, f.clinic.address, LAB);
      const fresh = await signRevoke(f.patient, f.domain, revokeRequest, await nonceOf(f, p), f.deadline);
      await expect(f.consents.connect(f.relayer).revokeWithSig(p, f.clinic.address, LAB, f.deadline, fresh))
        .to.be.revertedWithCustomError(f.consents, "DenyInForce")
        .withArgs(p, f.clinic.address, LAB);
      expect(await statusOf(f.consents, p, f.clinic.address)).to.equal(ConsentStatus.Denied);
    });

    for (const where of ["the exact key", "ANY_CATEGORY", "the provider's id, the grant naming its rotated key"]) {
      it(`should refuse a signed grant past a deny on ${where}, store nothing, and leave nothing to revive when the deny is lifted`, async function () {
        const f = await loadFixture(deployAdversarial);
        const p = f.patient.address;
        let grantee = f.clinic.address;
        if (where.startsWith("the provider's id")) {
          await rotateKey(f.providers, f.clinic, f.newKey);
          grantee = f.newKey.address;
        }
        const request = grantRequest(p, grantee, f.expiresAt, { purposes: ALL_PURPOSES, actions: ALL_ACTIONS });
        const nonce = await f.consents.signatureNonce(p, grantee, LAB);
        const signature = await signGrant(f.patient, f.domain, request, nonce, f.deadline);
        const denied = where === "ANY_CATEGORY" ? ANY_CATEGORY : LAB;
        await f.consents.connect(f.patient).deny(f.clinic.address, denied);
        // (A deny of the exact key moves its nonce on too: the signature is stale as well as blocked.)
        const nonceAfterDeny = await f.consents.signatureNonce(p, grantee, LAB);
        await expect(f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature))
          .to.be.revertedWithCustomError(f.consents, "DenyInForce")
          .withArgs(p, grantee, LAB);
        expect(await f.consents.signatureNonce(p, grantee, LAB)).to.equal(nonceAfterDeny);
        // The patient lifts the deny: no permit was stored that could come back to life.
        await f.consents.connect(f.patient).revoke(f.clinic.address, denied);
        expect(await f.consents.isAuthorized(p, grantee, LAB, Purpose.HRESCH, Action.CORRECT)).to.be.false;
        expect(await statusOf(f.consents, p, grantee)).to.not.equal(ConsentStatus.Active);
      });
    }

    it("should let signatures for three clinics land in any order, each with its own key's nonce", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      const clinics = [f.clinic.address, f.lab.address, f.emergencyDoctor.address];
      const signed = await Promise.all(
        clinics.map(async (clinic) => {
          const request = grantRequest(p, clinic, f.expiresAt);
          const nonce = await f.consents.signatureNonce(p, clinic, LAB);
          return { request, nonce, signature: await signGrant(f.patient, f.domain, request, nonce, f.deadline) };
        }),
      );
      expect(signed.map((x) => x.nonce)).to.deep.equal([0n, 0n, 0n]);
      for (const { request, signature } of [signed[2], signed[0], signed[1]]) {
        await expect(f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature))
          .to.emit(f.consents, "ConsentGranted")
          .withArgs(p, request.grantee, LAB, TREAT, ACCESS, anyTime(), f.expiresAt, f.relayer.address, true);
      }
      for (const clinic of clinics) {
        expect(await statusOf(f.consents, p, clinic)).to.equal(ConsentStatus.Active);
        expect(await f.consents.signatureNonce(p, clinic, LAB)).to.equal(1n);
      }
    });

    for (const cancel of ["cancelSignatures", "revokeAll", "cancelSignaturesFor", "revokeAllFor"] as const) {
      it(`should refuse a signature made before ${cancel}`, async function () {
        const f = await loadFixture(deployAdversarial);
        const p = f.patient.address;
        await f.consents.connect(f.patient).setDelegate(f.delegate.address, f.expiresAt);
        const request = grantRequest(p, f.clinic.address, f.expiresAt);
        const signature = await signGrant(f.patient, f.domain, request, 0, f.deadline);
        if (cancel === "cancelSignatures") await f.consents.connect(f.patient).cancelSignatures();
        if (cancel === "revokeAll") {
          await expect(f.consents.connect(f.patient).revokeAll())
            .to.emit(f.consents, "AllConsentsRevoked")
            .withArgs(p, 1, p)
            .and.to.emit(f.consents, "SignaturesCancelled")
            .withArgs(p, 1, p);
        }
        if (cancel === "cancelSignaturesFor") await f.consents.connect(f.delegate).cancelSignaturesFor(p);
        if (cancel === "revokeAllFor") await f.consents.connect(f.delegate).revokeAllFor(p);
        await expect(
          f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature),
        ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
        expect(await statusOf(f.consents, p, f.clinic.address)).to.equal(ConsentStatus.None);
        expect(await nonceOf(f, p)).to.equal(1n << 128n);
      });
    }
  });

  describe("issue 11: delegates dealing with themselves, and break-glass", function () {
    it("should refuse a delegate acting for its own provider through another key, current or retired (DelegateIsGrantee)", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      await f.consents.connect(f.patient).setDelegate(f.clinic.address, f.expiresAt);
      await f.consents.connect(f.patient).setDelegate(f.newKey.address, f.expiresAt);
      await rotateKey(f.providers, f.clinic, f.newKey);
      // The retired key grants to the current one, and the current key to the id (the retired key).
      await expect(
        f.consents.connect(f.clinic).grantFor(p, f.newKey.address, LAB, ALL_PURPOSES, ALL_ACTIONS, 0, f.expiresAt),
      )
        .to.be.revertedWithCustomError(f.consents, "DelegateIsGrantee")
        .withArgs(f.clinic.address);
      await expect(
        f.consents.connect(f.newKey).grantFor(p, f.clinic.address, LAB, ALL_PURPOSES, ALL_ACTIONS, 0, f.expiresAt),
      )
        .to.be.revertedWithCustomError(f.consents, "DelegateIsGrantee")
        .withArgs(f.newKey.address);
      await f.consents.connect(f.patient).deny(f.clinic.address, LAB);
      await expect(f.consents.connect(f.newKey).revokeFor(p, f.clinic.address, LAB))
        .to.be.revertedWithCustomError(f.consents, "DelegateIsGrantee")
        .withArgs(f.newKey.address);
      expect(await statusOf(f.consents, p, f.clinic.address)).to.equal(ConsentStatus.Denied);
      // On someone else's consent the delegate still acts.
      await f.consents.connect(f.newKey).grantFor(p, f.lab.address, LAB, TREAT, ACCESS, 0, f.expiresAt);
    });

    it("should refuse an emergency provider, as a delegate, turning break-glass back on (also from a retired key), and let it turn it off", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      await f.consents.connect(f.patient).setDelegate(f.emergencyDoctor.address, f.expiresAt);
      await f.consents.connect(f.patient).setEmergencyAccess(false);
      await expect(f.consents.connect(f.emergencyDoctor).setEmergencyAccessFor(p, true))
        .to.be.revertedWithCustomError(f.consents, "DelegateIsGrantee")
        .withArgs(f.emergencyDoctor.address);
      await rotateKey(f.providers, f.emergencyDoctor, f.newKey);
      await expect(f.consents.connect(f.emergencyDoctor).setEmergencyAccessFor(p, true))
        .to.be.revertedWithCustomError(f.consents, "DelegateIsGrantee")
        .withArgs(f.emergencyDoctor.address);
      expect(await f.consents.emergencyAccessAllowed(p)).to.be.false;
      await expect(f.consents.connect(f.emergencyDoctor).setEmergencyAccessFor(p, false)).to.emit(
        f.consents,
        "EmergencyAccessSet",
      );
    });

    it("should not renew an open break-glass window (EmergencyAccessAlreadyOpen), but allow a new one once it expired", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      await f.consents.connect(f.emergencyDoctor).emergencyAccess(p, REASON);
      const end = await f.consents.emergencyAccessExpiry(p, f.emergencyDoctor.address);
      await time.increase(DAY - 10);
      await expect(f.consents.connect(f.emergencyDoctor).emergencyAccess(p, REASON))
        .to.be.revertedWithCustomError(f.consents, "EmergencyAccessAlreadyOpen")
        .withArgs(p, f.emergencyDoctor.address, end);
      expect(await f.consents.emergencyAccessExpiry(p, f.emergencyDoctor.address)).to.equal(end);
      await time.increaseTo(end);
      await expect(f.consents.connect(f.emergencyDoctor).emergencyAccess(p, REASON)).to.emit(
        f.consents,
        "EmergencyAccessOpened",
      );
    });

    it("should keep a window the patient closed closed until break-glass goes off and on, or the provider is granted a consent", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      const reopen = () => f.consents.connect(f.emergencyDoctor).emergencyAccess(p, REASON);
      await reopen();
      await f.consents.connect(f.patient).closeEmergencyAccess(f.emergencyDoctor.address);
      await expect(reopen())
        .to.be.revertedWithCustomError(f.consents, "EmergencyAccessRefused")
        .withArgs(p, f.emergencyDoctor.address);
      await time.increase(2 * DAY);
      await f.consents.connect(f.patient).setEmergencyAccess(true); // already on: changes nothing
      await expect(reopen()).to.be.revertedWithCustomError(f.consents, "EmergencyAccessRefused");
      await f.consents.connect(f.patient).setEmergencyAccess(false);
      await f.consents.connect(f.patient).setEmergencyAccess(true);
      await expect(reopen()).to.emit(f.consents, "EmergencyAccessOpened");
      await f.consents.connect(f.patient).closeEmergencyAccess(f.emergencyDoctor.address);
      await expect(reopen()).to.be.revertedWithCustomError(f.consents, "EmergencyAccessRefused");
      await f.consents.connect(f.patient).grant(f.emergencyDoctor.address, IMAGING, TREAT, ACCESS, 0, f.expiresAt);
      await expect(reopen()).to.emit(f.consents, "EmergencyAccessOpened");
    });
  });

  describe("issue 11: records, batches, ANY_CATEGORY and key rotation", function () {
    const COLLECT = actionMask(Action.COLLECT);
    const recordId = (patient: string, hash: string) =>
      ethers.keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [patient, hash]));

    for (const ending of ["removed delegate", "denied", "revoked", "suspended"] as const) {
      it(`should refuse a ${ending} anchorer retracting its record (NotAuthorizedRetractor)`, async function () {
        const f = await loadFixture(deployAdversarial);
        const p = f.patient.address;
        const hash = ethers.id(`report-${ending}`);
        const anchorer = ending === "removed delegate" ? f.delegate : f.clinic;
        if (ending === "removed delegate")
          await f.consents.connect(f.patient).setDelegate(f.delegate.address, f.expiresAt);
        else await f.consents.connect(f.patient).grant(f.clinic.address, LAB, TREAT, COLLECT, 0, f.expiresAt);
        await f.records.connect(anchorer).anchor(p, LAB, hash, ethers.ZeroHash, "");
        if (ending === "removed delegate") await f.consents.connect(f.patient).removeDelegate(f.delegate.address);
        if (ending === "denied") await f.consents.connect(f.patient).deny(f.clinic.address, LAB);
        if (ending === "revoked") await f.consents.connect(f.patient).revoke(f.clinic.address, LAB);
        if (ending === "suspended") await f.providers.connect(f.registrar).suspend(f.clinic.address, REASON);
        const id = recordId(p, hash);
        await expect(f.records.connect(anchorer).retract(id, REASON))
          .to.be.revertedWithCustomError(f.records, "NotAuthorizedRetractor")
          .withArgs(id, anchorer.address);
        const [, status] = await f.records.verify(p, hash);
        expect(status).to.equal(1n); // still Active
      });
    }

    it("should refuse another provider with its own COLLECT permit superseding the clinic's record (NotAuthorizedSuperseder)", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      for (const provider of [f.clinic, f.emergencyDoctor])
        await f.consents.connect(f.patient).grant(provider.address, LAB, TREAT, COLLECT, 0, f.expiresAt);
      const hash = ethers.id("clinic-report");
      await f.records.connect(f.clinic).anchor(p, LAB, hash, ethers.ZeroHash, "");
      await expect(f.records.connect(f.emergencyDoctor).anchor(p, LAB, ethers.id("v2"), recordId(p, hash), ""))
        .to.be.revertedWithCustomError(f.records, "NotAuthorizedSuperseder")
        .withArgs(recordId(p, hash), f.emergencyDoctor.address);
    });

    it("should refuse a batch from a non-provider or a suspended one (NotActiveProvider), and item retraction by anyone but the patient or a live delegate", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      const item = [p, LAB, ethers.id("batch-item")];
      const tree = StandardMerkleTree.of(
        [item, [f.lab.address, LAB, ethers.id("other")]],
        ["address", "bytes32", "bytes32"],
      );
      await expect(f.records.connect(f.stranger).anchorBatch(tree.root, 2, ""))
        .to.be.revertedWithCustomError(f.records, "NotActiveProvider")
        .withArgs(f.stranger.address);
      await f.providers.connect(f.registrar).suspend(f.emergencyDoctor.address, REASON);
      await expect(f.records.connect(f.emergencyDoctor).anchorBatch(tree.root, 2, ""))
        .to.be.revertedWithCustomError(f.records, "NotActiveProvider")
        .withArgs(f.emergencyDoctor.address);
      await f.records.connect(f.clinic).anchorBatch(tree.root, 2, "");
      const batchId = BigInt(
        ethers.keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [f.clinic.address, tree.root])),
      );
      const proof = tree.getProof(0);
      expect(await f.records.verifyBatchItem(batchId, proof, p, LAB, item[2])).to.be.true;
      for (const intruder of [f.stranger, f.clinic]) {
        await expect(f.records.connect(intruder).retractBatchItem(batchId, p, LAB, item[2], REASON))
          .to.be.revertedWithCustomError(f.records, "NotAuthorizedBatchRetractor")
          .withArgs(p, intruder.address);
      }
      expect(await f.records.verifyBatchItem(batchId, proof, p, LAB, item[2])).to.be.true;
      await f.records.connect(f.patient).retractBatchItem(batchId, p, LAB, item[2], REASON);
      expect(await f.records.verifyBatchItem(batchId, proof, p, LAB, item[2])).to.be.false;
    });

    it("should never treat ANY_CATEGORY as a data category: not authorised, not recordable, not anchorable", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      await f.consents
        .connect(f.patient)
        .grant(f.clinic.address, ANY_CATEGORY, ALL_PURPOSES, ALL_ACTIONS, 0, f.expiresAt);
      expect(await f.consents.isAuthorized(p, f.clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.true;
      expect(await f.consents.isAuthorized(p, f.clinic.address, ANY_CATEGORY, Purpose.TREAT, Action.ACCESS)).to.be
        .false;
      expect(await f.consents.isAuthorizedForAny(p, f.clinic.address, ANY_CATEGORY, ALL_PURPOSES, Action.COLLECT)).to.be
        .false;
      await expect(
        f.consents.connect(f.clinic).recordAccess(p, ANY_CATEGORY, Purpose.TREAT, Action.ACCESS, ethers.ZeroHash),
      )
        .to.be.revertedWithCustomError(f.consents, "NotAuthorized")
        .withArgs(p, f.clinic.address, ANY_CATEGORY, Purpose.TREAT, Action.ACCESS);
      await expect(f.records.connect(f.clinic).anchor(p, ANY_CATEGORY, ethers.id("x"), ethers.ZeroHash, ""))
        .to.be.revertedWithCustomError(f.records, "NotADataCategory")
        .withArgs(ANY_CATEGORY);
    });

    it("should not let a provider rotate into an address that never agreed: rotateKey only proposes", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      // The victim (the lab, a plain address with its own consent) is proposed, and never accepts.
      await f.consents.connect(f.patient).grant(f.lab.address, LAB, TREAT, ACCESS, 0, f.expiresAt);
      await expect(f.providers.connect(f.clinic).rotateKey(f.lab.address)).to.not.emit(f.providers, "KeyRotated");
      const [id, status] = await f.providers.resolve(f.lab.address);
      expect([id, Number(status)]).to.deep.equal([f.lab.address, 0]);
      expect(await f.providers.currentKeyOf(f.clinic.address)).to.equal(f.clinic.address);
      expect(await f.consents.isAuthorized(p, f.lab.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.true;
      await expect(f.providers.connect(f.stranger).acceptKey(f.clinic.address))
        .to.be.revertedWithCustomError(f.providers, "KeyNotProposed")
        .withArgs(f.clinic.address, f.stranger.address);
    });

    it("should keep a deny given to an address before it became a provider key, through every later rotation", async function () {
      const f = await loadFixture(deployAdversarial);
      const p = f.patient.address;
      const newerKey = f.accomplice;
      await f.consents
        .connect(f.patient)
        .grant(f.emergencyDoctor.address, LAB, ALL_PURPOSES, ALL_ACTIONS, 0, f.expiresAt);
      await f.consents.connect(f.patient).deny(f.newKey.address, ANY_CATEGORY); // a plain address then
      await rotateKey(f.providers, f.emergencyDoctor, f.newKey);
      await rotateKey(f.providers, f.newKey, newerKey); // the denied address is now a retired key
      expect(await f.providers.keysOf(f.emergencyDoctor.address)).to.deep.equal([
        f.emergencyDoctor.address,
        f.newKey.address,
        newerKey.address,
      ]);
      expect(await f.consents.isAuthorized(p, newerKey.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be.false;
      await expect(f.consents.connect(newerKey).emergencyAccess(p, REASON))
        .to.be.revertedWithCustomError(f.consents, "EmergencyAccessRefused")
        .withArgs(p, newerKey.address);
      const request = grantRequest(p, newerKey.address, f.expiresAt);
      const signature = await signGrant(f.patient, f.domain, request, 0, f.deadline);
      await expect(f.consents.connect(f.relayer).grantWithSig(request, f.deadline, signature))
        .to.be.revertedWithCustomError(f.consents, "DenyInForce")
        .withArgs(p, newerKey.address, LAB);
    });
  });
});

/** Any uint40 time (for withArgs on notBefore = the block time). */
function anyTime() {
  return (value: bigint) => typeof value === "bigint" && value >= 0n && value <= MAX40;
}
