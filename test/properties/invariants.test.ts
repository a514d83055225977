/**
 * The security invariants, each stated in a test name and checked directly as a fast-check property on the in-process
 * Hardhat network (the model-based runs in consent.model.test.ts check them too, after every random step: see
 * harness.ts `checkInvariants`). `npm test` runs a modest number of cases; FUZZ=long ten times more.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Wallet, type TypedDataDomain } from "ethers";

import type { ConsentRegistry, RecordRegistry } from "../../typechain-types";
import { ANY_CATEGORY, Capability, categoryId, ConsentStatus, RecordStatus } from "../../src/codes";
import { consentDomain, signGrant, signRevoke } from "../../src/eip712";
import { statusOf } from "../helpers/consents";
import { DAY, deployWithProviders } from "../helpers/fixtures";

const LONG = process.env.FUZZ === "long";
const RUNS = LONG ? 200 : 20;
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 424242;
const PARAMS = { numRuns: RUNS, seed: SEED, endOnFailure: true };

const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");
const CATEGORIES = [LAB, IMAGING, ANY_CATEGORY];
const HASH = ethers.id("lab-report-1.pdf");

async function deployScenario() {
  const f = await deployWithProviders();
  const signers = await ethers.getSigners();
  const expiredDelegate = signers[10];
  const otherPatient = signers[11];
  const otherDelegate = signers[12];
  const { consents, records, patient, clinic, lab, delegate, emergencyDoctor } = f;
  const now = await time.latest();
  await consents.connect(patient).setDelegate(delegate.address, now + 365 * DAY);
  await consents.connect(patient).setDelegate(expiredDelegate.address, now + 10);
  await consents.connect(otherPatient).setDelegate(otherDelegate.address, now + 365 * DAY);
  await consents.connect(patient).grant(clinic.address, LAB, 0x3ff, 0x1f, 0, now + 30 * DAY);
  await consents.connect(patient).grant(lab.address, ANY_CATEGORY, 1, 2, now + 5 * DAY, now + 30 * DAY);
  await consents.connect(patient).deny(emergencyDoctor.address, IMAGING);
  await consents.connect(emergencyDoctor).emergencyAccess(patient.address, ethers.id("er"));
  await records.connect(patient).anchor(patient.address, LAB, HASH, ethers.ZeroHash, "ipfs://report");
  await time.increase(60); // the expired delegate's term is over
  const { chainId } = await ethers.provider.getNetwork();
  return {
    ...f,
    expiredDelegate,
    otherPatient,
    otherDelegate,
    domain: consentDomain(chainId, await consents.getAddress()),
    chainId,
  };
}

/** Everything a patient controls, as stored (not as it evaluates at some time). */
async function patientState(consents: ConsentRegistry, patient: string, grantees: string[], delegates: string[]) {
  const state: string[] = [];
  for (const grantee of grantees) {
    for (const category of CATEGORIES) {
      const [consent] = await consents.consentOf(patient, grantee, category);
      state.push(consent.toString());
      state.push(`nonce ${grantee} ${category} ${await consents.signatureNonce(patient, grantee, category)}`);
    }
  }
  state.push(`epoch ${await consents.epochOf(patient)}`);
  state.push(`emergency ${await consents.emergencyAccessAllowed(patient)}`);
  for (const d of delegates) state.push(`delegate ${d} ${await consents.delegateExpiry(patient, d)}`);
  return state;
}

async function recordState(records: RecordRegistry, patient: string, hash: string) {
  const id = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [patient, hash]));
  const r = await records.recordOf(id);
  const v = await records.verify(patient, hash);
  return {
    id,
    patient: r.patient,
    anchoredAt: r.anchoredAt,
    category: r.category,
    anchoredBy: r.anchoredBy,
    status: Number(r.status),
    supersededBy: r.supersededBy,
    verified: v.anchored,
    verifiedAt: v.anchoredAt,
  };
}

describe("Security invariants (properties)", function () {
  this.timeout(LONG ? 0 : 120_000);

  it("should let no account but the patient or a live delegate change a patient's consents, epoch, break-glass setting, delegates or signature nonces", async function () {
    const f = await loadFixture(deployScenario);
    const intruders: [string, HardhatEthersSigner][] = [
      ["expired delegate", f.expiredDelegate],
      ["another patient's delegate", f.otherDelegate],
      ["stranger", f.stranger],
      ["registry admin", f.admin],
      ["registrar", f.registrar],
      ["grantee", f.clinic],
      ["emergency provider", f.emergencyDoctor],
      ["relayer", f.relayer],
    ];
    const grantees = [f.clinic.address, f.lab.address, f.emergencyDoctor.address, f.stranger.address];
    const watched = () =>
      patientState(f.consents, f.patient.address, grantees, [f.delegate.address, f.expiredDelegate.address]);
    const baseline = await watched();
    const c = f.consents.interface;
    const attempts = fc.record({
      intruder: fc.constantFrom(...intruders),
      grantee: fc.constantFrom(...grantees),
      category: fc.constantFrom(...CATEGORIES),
      purposes: fc.integer({ min: 1, max: 0x3ff }),
      actions: fc.integer({ min: 1, max: 0x1f }),
      call: fc.constantFrom(
        "grantFor",
        "revokeFor",
        "denyFor",
        "setEmergencyAccessFor",
        "closeEmergencyAccessFor",
        "revokeAllFor",
        "cancelSignaturesFor",
        "multicall",
        "signed",
      ),
    });
    await fc.assert(
      fc.asyncProperty(attempts, async ({ intruder: [who, signer], grantee, category, purposes, actions, call }) => {
        const p = f.patient.address;
        const expiresAt = (await time.latest()) + DAY;
        const calls: Record<string, () => Promise<unknown>> = {
          grantFor: () => f.consents.connect(signer).grantFor(p, grantee, category, purposes, actions, 0, expiresAt),
          revokeFor: () => f.consents.connect(signer).revokeFor(p, f.clinic.address, LAB),
          denyFor: () => f.consents.connect(signer).denyFor(p, grantee, category),
          setEmergencyAccessFor: () => f.consents.connect(signer).setEmergencyAccessFor(p, false),
          closeEmergencyAccessFor: () =>
            f.consents.connect(signer).closeEmergencyAccessFor(p, f.emergencyDoctor.address),
          revokeAllFor: () => f.consents.connect(signer).revokeAllFor(p),
          cancelSignaturesFor: () => f.consents.connect(signer).cancelSignaturesFor(p),
          // Batching adds no power: msg.sender stays the intruder.
          multicall: () =>
            f.consents.connect(signer).multicall([c.encodeFunctionData("revokeFor", [p, f.clinic.address, LAB])]),
          // A grant signed by the intruder for the patient.
          signed: async () => {
            const request = { patient: p, grantee, category, purposes, actions, notBefore: 0, expiresAt };
            const nonce = await f.consents.signatureNonce(p, grantee, category);
            const signature = await signGrant(signer, f.domain, request, nonce, expiresAt);
            return f.consents.connect(signer).grantWithSig(request, expiresAt, signature);
          },
        };
        const [, keyStatus] = await f.consents.consentOf(p, grantee, category);
        const [, anyStatus] = await f.consents.consentOf(p, grantee, ANY_CATEGORY);
        const blocked = [keyStatus, anyStatus].map(Number).includes(ConsentStatus.Denied);
        const attempt = calls[call]();
        if (call === "signed")
          await expect(attempt, `${who} ${call}`).to.be.revertedWithCustomError(
            f.consents,
            // A deny in force is named before the signature is even looked at.
            blocked ? "DenyInForce" : "InvalidSignature",
          );
        else
          await expect(attempt, `${who} ${call}`)
            .to.be.revertedWithCustomError(f.consents, "NotDelegate")
            .withArgs(p, signer.address);
        expect(await watched(), `${who} ${call} changed the patient's state`).to.deep.equal(baseline);
      }),
      PARAMS,
    );
    // What the intruders may do is act on their own account, which leaves the patient's untouched too.
    await f.consents.connect(f.stranger).grant(f.clinic.address, LAB, 1, 1, 0, (await time.latest()) + DAY);
    await f.consents.connect(f.stranger).revokeAll();
    expect(await watched()).to.deep.equal(baseline);
  });

  it("should never let a revoked, expired, denied or not-yet-valid consent authorise", async function () {
    const f = await loadFixture(deployScenario);
    const purpose = fc.integer({ min: 0, max: 9 });
    const action = fc.integer({ min: 0, max: 4 });
    const scenario = fc.record({
      notBefore: fc.integer({ min: 0, max: 100 }),
      duration: fc.integer({ min: 10, max: 100 }),
      ending: fc.constantFrom("revoke", "revokeAll", "denyCategory", "denyAny", "expire", "notYet", "none"),
      categoryGranted: fc.constantFrom(LAB, ANY_CATEGORY),
      purpose,
      action,
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ notBefore, duration, ending, categoryGranted, purpose: pu, action: ac }) => {
        await loadFixture(deployScenario);
        const { consents, patient, stranger } = f;
        const at = (await time.latest()) + 1;
        const start = at + notBefore;
        await time.setNextBlockTimestamp(at);
        await consents
          .connect(patient)
          .grant(stranger.address, categoryGranted, 1 << pu, 1 << ac, notBefore === 0 ? 0 : start, start + duration);
        if (ending === "revoke") await consents.connect(patient).revoke(stranger.address, categoryGranted);
        if (ending === "revokeAll") await consents.connect(patient).revokeAll();
        if (ending === "denyCategory") await consents.connect(patient).deny(stranger.address, LAB);
        if (ending === "denyAny") await consents.connect(patient).deny(stranger.address, ANY_CATEGORY);
        if (ending === "expire") await time.increaseTo(start + duration);
        else if (ending !== "notYet" && start > (await time.latest())) await time.increaseTo(start);
        const [, status] = await consents.consentOf(patient.address, stranger.address, categoryGranted);
        const [, anyStatus] = await consents.consentOf(patient.address, stranger.address, ANY_CATEGORY);
        const authorized = await consents.isAuthorized(patient.address, stranger.address, LAB, pu, ac);
        const expectedStatus = {
          revoke: ConsentStatus.Revoked,
          revokeAll: ConsentStatus.Revoked,
          denyCategory: categoryGranted === LAB ? ConsentStatus.Denied : ConsentStatus.Active,
          denyAny: categoryGranted === ANY_CATEGORY ? ConsentStatus.Denied : ConsentStatus.Active,
          expire: ConsentStatus.Expired,
          notYet: notBefore > 0 ? ConsentStatus.Pending : ConsentStatus.Active,
          none: ConsentStatus.Active,
        }[ending];
        expect(Number(status)).to.equal(expectedStatus);
        const live = ending === "none" || (ending === "notYet" && notBefore === 0);
        expect(
          authorized,
          `${ending}: status ${ConsentStatus[Number(status)]}, ANY ${ConsentStatus[Number(anyStatus)]}`,
        ).to.equal(live);
      }),
      { ...PARAMS, numRuns: Math.ceil(RUNS * 1.5) },
    );
  });

  it("should never accept a signature twice, nor one made for another chain, another contract, name or version", async function () {
    const f = await loadFixture(deployScenario);
    const other = (await ethers.deployContract("ConsentRegistry", [
      await f.providers.getAddress(),
    ])) as unknown as ConsentRegistry;
    const key = Wallet.createRandom();
    const domains = fc.oneof(
      fc
        .bigInt({ min: 1n, max: 2n ** 64n })
        .filter((id) => id !== f.chainId)
        .map((chainId): TypedDataDomain => ({ ...f.domain, chainId })),
      fc.constantFrom<TypedDataDomain>(
        { ...f.domain, verifyingContract: other.target as string },
        { ...f.domain, verifyingContract: f.records.target as string },
        { ...f.domain, name: "ConsentRegistry2" },
        { ...f.domain, version: "2" },
      ),
      fc
        .uint8Array({ minLength: 20, maxLength: 20 })
        .map((bytes): TypedDataDomain => ({ ...f.domain, verifyingContract: ethers.hexlify(bytes) })),
    );
    const grants = fc.record({
      category: fc.constantFrom(...CATEGORIES),
      purposes: fc.integer({ min: 1, max: 0x3ff }),
      actions: fc.integer({ min: 1, max: 0x1f }),
      revoke: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(domains, grants, async (wrongDomain, { category, purposes, actions, revoke }) => {
        const now = await time.latest();
        const deadline = now + DAY;
        const nonce = await f.consents.signatureNonce(key.address, f.clinic.address, category);
        const request = {
          patient: key.address,
          grantee: f.clinic.address,
          category,
          purposes,
          actions,
          notBefore: 0,
          expiresAt: now + 2 * DAY,
        };
        // Made for the wrong domain: refused, no nonce used.
        const wrong = await signGrant(key, wrongDomain, request, nonce, deadline);
        await expect(
          f.consents.connect(f.relayer).grantWithSig(request, deadline, wrong),
        ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
        // Made right: accepted once, and on this registry only.
        const right = await signGrant(key, f.domain, request, nonce, deadline);
        await expect(other.connect(f.relayer).grantWithSig(request, deadline, right)).to.be.revertedWithCustomError(
          other,
          "InvalidSignature",
        );
        await f.consents.connect(f.relayer).grantWithSig(request, deadline, right);
        await expect(
          f.consents.connect(f.relayer).grantWithSig(request, deadline, right),
        ).to.be.revertedWithCustomError(f.consents, "InvalidSignature");
        if (revoke) {
          const r = { patient: key.address, grantee: f.clinic.address, category };
          const signature = await signRevoke(key, f.domain, r, nonce + 1n, deadline);
          await f.consents
            .connect(f.relayer)
            .revokeWithSig(key.address, f.clinic.address, category, deadline, signature);
          // Replayed, it has nothing left to withdraw (checked before the signature) and changes nothing.
          await expect(
            f.consents.connect(f.relayer).revokeWithSig(key.address, f.clinic.address, category, deadline, signature),
          )
            .to.be.revertedWithCustomError(f.consents, "NothingToRevoke")
            .withArgs(key.address, f.clinic.address, category);
        }
        expect(await f.consents.signatureNonce(key.address, f.clinic.address, category)).to.equal(
          nonce + (revoke ? 2n : 1n),
        );
        expect(await other.signatureNonce(key.address, f.clinic.address, category)).to.equal(0n);
      }),
      PARAMS,
    );
  });

  it("should never let a signature lift or pass a deny, nor land once cancelled by cancelSignatures or revokeAll (the patient's or a live delegate's)", async function () {
    const f = await loadFixture(deployScenario);
    const key = Wallet.createRandom();
    const scenario = fc.record({
      // where the deny is, relative to the key the signature names
      deny: fc.constantFrom("exact", "any", "underId", "none"),
      // what the patient did after signing
      after: fc.constantFrom("nothing", "cancelSignatures", "cancelSignaturesFor", "revokeAll", "revokeAllFor"),
      category: fc.constantFrom(LAB, IMAGING),
      revokeFirst: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ deny, after, category, revokeFirst }) => {
        await loadFixture(deployScenario);
        const { consents, providers, registrar, delegate, relayer, patient } = f;
        const p = patient.address;
        // A provider the patient never consented to, that rotated to a new key (the grantee as signed).
        const provider = f.other;
        const rotated = key.address;
        await providers.connect(registrar).register(provider.address, ethers.id("npi:other"), Capability.TREATMENT, "");
        await providers.connect(provider).rotateKey(rotated);
        await relayer.sendTransaction({ to: rotated, value: ethers.parseEther("1") });
        await providers.connect(key.connect(ethers.provider)).acceptKey(provider.address);
        const expiresAt = (await time.latest()) + DAY;
        const deadline = expiresAt;
        // A signed grant names the rotated key; a signed revocation names the clinic's id, where its permit (and a
        // deny of the exact key or of the id) is kept.
        const id = provider.address;
        if (revokeFirst) await consents.connect(patient).grant(id, category, 1, 1, 0, expiresAt);
        const request = { patient: p, grantee: rotated, category, purposes: 1, actions: 2, notBefore: 0, expiresAt };
        const grantSig = await signGrant(
          patient,
          f.domain,
          request,
          await consents.signatureNonce(p, rotated, category),
          deadline,
        );
        const revokeSig = await signRevoke(
          patient,
          f.domain,
          { patient: p, grantee: id, category },
          await consents.signatureNonce(p, id, category),
          deadline,
        );
        if (deny === "exact") await consents.connect(patient).deny(rotated, category); // kept under the clinic's id
        if (deny === "any") await consents.connect(patient).deny(id, ANY_CATEGORY);
        if (deny === "underId") await consents.connect(patient).deny(id, category);
        if (after === "cancelSignatures") await consents.connect(patient).cancelSignatures();
        if (after === "cancelSignaturesFor") await consents.connect(delegate).cancelSignaturesFor(p);
        if (after === "revokeAll") await consents.connect(patient).revokeAll();
        if (after === "revokeAllFor") await consents.connect(delegate).revokeAllFor(p);
        const before = await patientState(consents, p, [rotated, id], []);
        const submit = revokeFirst
          ? consents.connect(relayer).revokeWithSig(p, id, category, deadline, revokeSig)
          : consents.connect(relayer).grantWithSig(request, deadline, grantSig);
        // A signed revocation withdraws a permit (also past a deny of ANY_CATEGORY), never a deny.
        const meetsDeny = revokeFirst ? deny === "exact" || deny === "underId" : deny !== "none";
        if (meetsDeny) {
          await expect(submit, `${deny} ${after}`)
            .to.be.revertedWithCustomError(consents, "DenyInForce")
            .withArgs(p, revokeFirst ? id : rotated, category);
        } else if (after !== "nothing") {
          await expect(submit, `${deny} ${after}`).to.be.revertedWithCustomError(consents, "InvalidSignature");
        } else {
          await expect(submit, `${deny} ${after}`).to.emit(consents, revokeFirst ? "ConsentRevoked" : "ConsentGranted");
          return;
        }
        // Refused: nothing stored, no nonce used, and nothing for a later lifting of the deny to revive.
        expect(await patientState(consents, p, [rotated, id], [])).to.deep.equal(before);
        if (!revokeFirst && deny !== "none") {
          await consents.connect(patient).revoke(id, deny === "any" ? ANY_CATEGORY : category);
          expect(await consents.isAuthorized(p, rotated, category, 0, 1)).to.be.false;
          // What consentOf shows for the rotated key is the id's lifted deny (Revoked), never a revived permit.
          expect(await statusOf(consents, p, rotated, category)).to.not.equal(ConsentStatus.Active);
        }
      }),
      PARAMS,
    );
  });

  it("should never change an anchored record's hash, patient, category, anchoring account or time; its status only moves forward", async function () {
    const f = await loadFixture(deployScenario);
    const actors = [f.patient, f.delegate, f.expiredDelegate, f.clinic, f.stranger, f.admin, f.otherPatient];
    const before = await recordState(f.records, f.patient.address, HASH);
    expect(before.status).to.equal(RecordStatus.Active);
    const ops = fc.array(
      fc.record({
        actor: fc.constantFrom(...actors),
        op: fc.constantFrom("reanchor", "reanchorAsOther", "supersede", "retract", "retractNewest"),
        content: fc.integer({ min: 0, max: 3 }),
      }),
      { minLength: 1, maxLength: 8 },
    );
    await fc.assert(
      fc.asyncProperty(ops, async (steps) => {
        await loadFixture(deployScenario);
        let last = before;
        let newest = before.id;
        for (const { actor, op, content } of steps) {
          const hash = ethers.id(`version-${content}`);
          try {
            if (op === "reanchor")
              await f.records.connect(actor).anchor(f.patient.address, IMAGING, HASH, ethers.ZeroHash, "ipfs://forged");
            if (op === "reanchorAsOther")
              await f.records.connect(actor).anchor(actor.address, IMAGING, HASH, ethers.ZeroHash, "ipfs://copy");
            if (op === "supersede") {
              await f.records.connect(actor).anchor(f.patient.address, LAB, hash, newest, "ipfs://v2");
              newest = ethers.keccak256(
                ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [f.patient.address, hash]),
              );
            }
            if (op === "retract") await f.records.connect(actor).retract(before.id, ethers.id("error"));
            if (op === "retractNewest") await f.records.connect(actor).retract(newest, ethers.id("error"));
          } catch {
            // refused: fine, the invariant below is what matters
          }
          const now = await recordState(f.records, f.patient.address, HASH);
          expect({ ...now, status: 0, supersededBy: "" }).to.deep.equal({ ...before, status: 0, supersededBy: "" });
          expect(now.status).to.be.at.least(last.status);
          if (last.supersededBy !== ethers.ZeroHash) expect(now.supersededBy).to.equal(last.supersededBy);
          last = now;
        }
      }),
      { ...PARAMS, numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it("should give the registry admin no power over consents or records, even after making itself registrar", async function () {
    const f = await loadFixture(deployScenario);
    const grantees = [f.clinic.address, f.lab.address, f.emergencyDoctor.address];
    const watched = async () => ({
      consents: await patientState(f.consents, f.patient.address, grantees, [f.delegate.address]),
      record: await recordState(f.records, f.patient.address, HASH),
    });
    const baseline = await watched();
    const { admin, patient, consents, records, providers } = f;
    const expiresAt = (await time.latest()) + DAY;

    await expect(
      consents.connect(admin).grantFor(patient.address, admin.address, ANY_CATEGORY, 0x3ff, 0x1f, 0, expiresAt),
    )
      .to.be.revertedWithCustomError(consents, "NotDelegate")
      .withArgs(patient.address, admin.address);
    await expect(
      consents.connect(admin).revokeFor(patient.address, f.clinic.address, LAB),
    ).to.be.revertedWithCustomError(consents, "NotDelegate");
    await expect(consents.connect(admin).denyFor(patient.address, f.clinic.address, LAB)).to.be.revertedWithCustomError(
      consents,
      "NotDelegate",
    );
    await expect(consents.connect(admin).setEmergencyAccessFor(patient.address, false)).to.be.revertedWithCustomError(
      consents,
      "NotDelegate",
    );
    await expect(records.connect(admin).retract(baseline.record.id, ethers.id("admin"))).to.be.revertedWithCustomError(
      records,
      "NotAuthorizedRetractor",
    );
    await expect(
      records.connect(admin).anchor(patient.address, LAB, ethers.id("forged"), baseline.record.id, "ipfs://forged"),
    )
      .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
      .withArgs(patient.address, admin.address, LAB);

    // The admin's whole power: the provider directory. Even as registrar, registering itself, suspending and
    // reshaping providers changes who is authorised now, never what the patient stored.
    await providers.connect(admin).grantRole(await providers.REGISTRAR_ROLE(), admin.address);
    await providers
      .connect(admin)
      .register(admin.address, ethers.id("npi:admin"), Capability.TREATMENT | Capability.EMERGENCY, "");
    await providers.connect(admin).suspend(f.clinic.address, ethers.id("power grab"));
    await providers.connect(admin).setCapabilities(f.emergencyDoctor.address, Capability.TREATMENT);
    await expect(
      records.connect(admin).anchor(patient.address, LAB, ethers.id("forged"), ethers.ZeroHash, ""),
    ).to.be.revertedWithCustomError(records, "NotAuthorizedWriter");
    await mine();
    expect(await watched()).to.deep.equal(baseline);

    // And the consent and record registries have no owner, role, pause or upgrade function at all.
    for (const contract of [consents, records]) {
      const names = contract.interface.fragments
        .filter((x) => x.type === "function")
        .map((x) => (x as unknown as { name: string }).name);
      expect(
        names.filter((n) => /owner|role|admin|pause|upgrade|initialize|setProvider|setConsent/i.test(n)),
      ).to.deep.equal([]);
    }
  });
});
