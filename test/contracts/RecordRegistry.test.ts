import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import type { RecordRegistry } from "../../typechain-types";
import {
  Action,
  actionMask,
  ANY_CATEGORY,
  categoryId,
  MAX_URI_LENGTH,
  Purpose,
  purposeMask,
  RecordStatus,
} from "../../src/codes";
import { batchId, batchLeaf, buildBatch, cidFor, contentHash, recordId, type BatchItem } from "../../src/records";
import { DAY, deployWithProviders, now, rotateKey } from "../helpers/fixtures";

const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");
const MENTAL_HEALTH = categoryId("mental-health");
const TREAT = purposeMask(Purpose.TREAT);
const COLLECT = actionMask(Action.COLLECT);
const ZERO = ethers.ZeroHash;
const REASON = ethers.id("entered in error: wrong patient");

/** A distinct file for each label, its fingerprint, and an ipfs:// URI for it. */
const file = (label: string) => ethers.toUtf8Bytes(`record: ${label}`);
const hashOf = (label: string) => contentHash(file(label));
const uriOf = (label: string) => `ipfs://${cidFor(file(label))}`;

/**
 * {deployWithProviders} (clinic is a registered provider), with the patient's writers in place until `expiresAt`:
 * - `delegate`, a delegate of the patient;
 * - `clinic`, permitted to COLLECT laboratory data (for treatment);
 * - `lab`, permitted to COLLECT every category (ANY_CATEGORY);
 * - `other`, permitted only to ACCESS and USE laboratory data.
 */
async function deployWithWriters() {
  const fixture = await deployWithProviders();
  const { consents, patient, delegate, clinic, lab, other } = fixture;
  const expiresAt = (await now()) + 30 * DAY;
  await consents.connect(patient).setDelegate(delegate.address, expiresAt);
  await consents.connect(patient).grant(clinic.address, LAB, TREAT, COLLECT, 0, expiresAt);
  await consents.connect(patient).grant(lab.address, ANY_CATEGORY, TREAT, COLLECT, 0, expiresAt);
  await consents.connect(patient).grant(other.address, LAB, TREAT, actionMask(Action.ACCESS, Action.USE), 0, expiresAt);
  return { ...fixture, expiresAt };
}

/** {deployWithWriters}, with one laboratory record ("report") anchored by the patient and one ("scan") by clinic. */
async function deployWithRecords() {
  const fixture = await deployWithWriters();
  const { records, patient, clinic } = fixture;
  await records.connect(patient).anchor(patient.address, LAB, hashOf("report"), ZERO, uriOf("report"));
  await records.connect(clinic).anchor(patient.address, LAB, hashOf("scan"), ZERO, uriOf("scan"));
  return {
    ...fixture,
    reportId: recordId(patient.address, hashOf("report")),
    scanId: recordId(patient.address, hashOf("scan")),
  };
}

/** {deployWithRecords}, with a version chain v1 <- v2 <- v3 of the patient's "note". */
async function deployWithVersionChain() {
  const fixture = await deployWithRecords();
  const { records, patient } = fixture;
  const [v1, v2, v3] = ["note v1", "note v2", "note v3"].map((label) => recordId(patient.address, hashOf(label)));
  await records.connect(patient).anchor(patient.address, LAB, hashOf("note v1"), ZERO, uriOf("note v1"));
  await records.connect(patient).anchor(patient.address, LAB, hashOf("note v2"), v1, uriOf("note v2"));
  await records.connect(patient).anchor(patient.address, LAB, hashOf("note v3"), v2, uriOf("note v3"));
  return { ...fixture, v1, v2, v3 };
}

const BATCH_SIZE = 1_000;
const MANIFEST = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

/** {deployWithProviders}, with `lab` registered too and a batch of 1,000 records over 50 patients anchored by it. */
async function deployWithBatch() {
  const fixture = await deployWithProviders();
  const { records, providers, registrar, lab } = fixture;
  await providers.connect(registrar).register(lab.address, ethers.id("npi:lab"), 1, "");
  const categories = [LAB, IMAGING, MENTAL_HEALTH];
  const items: BatchItem[] = Array.from({ length: BATCH_SIZE }, (_, i) => ({
    patient: ethers.getAddress(ethers.dataSlice(ethers.id(`patient ${i % 50}`), 12)),
    category: categories[i % categories.length],
    contentHash: hashOf(`batch item ${i}`),
  }));
  const batch = buildBatch(items);
  const tx = await records.connect(lab).anchorBatch(batch.root, batch.count, MANIFEST);
  return { ...fixture, items, batch, tx, id: batchId(lab.address, batch.root) };
}

type RecordsFixture = Awaited<ReturnType<typeof deployWithRecords>>;

/** Reads record `id` as a plain object. */
async function recordOf(records: RecordRegistry, id: string) {
  const r = await records.recordOf(id);
  return {
    patient: r.patient,
    anchoredAt: Number(r.anchoredAt),
    status: Number(r.status),
    category: r.category,
    anchoredBy: r.anchoredBy,
    supersededBy: r.supersededBy,
  };
}

describe("RecordRegistry", function () {
  describe("constructor", function () {
    it("should bind the registry to the consent registry it was deployed with", async function () {
      const { records, consents } = await loadFixture(deployWithWriters);
      expect(await records.consentRegistry()).to.equal(await consents.getAddress());
    });
  });

  describe("anchor", function () {
    context("when the patient anchors their own record", function () {
      it("should emit RecordAnchored with every argument, the patient as anchoredBy", async function () {
        const { records, patient } = await loadFixture(deployWithWriters);
        const id = recordId(patient.address, hashOf("a"));
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("a"), ZERO, uriOf("a")))
          .to.emit(records, "RecordAnchored")
          .withArgs(id, patient.address, LAB, hashOf("a"), patient.address, ZERO, uriOf("a"));
      });

      it("should return keccak256(abi.encode(patient, contentHash)) as the record id", async function () {
        const { records, patient } = await loadFixture(deployWithWriters);
        const id = await records.connect(patient).anchor.staticCall(patient.address, LAB, hashOf("a"), ZERO, "");
        const expected = ethers.keccak256(
          ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [patient.address, hashOf("a")]),
        );
        expect(id)
          .to.equal(expected)
          .and.to.equal(recordId(patient.address, hashOf("a")));
      });

      it("should store the record Active, reporting the patient as anchoredBy", async function () {
        const { records, patient } = await loadFixture(deployWithWriters);
        await records.connect(patient).anchor(patient.address, LAB, hashOf("a"), ZERO, uriOf("a"));
        expect(await recordOf(records, recordId(patient.address, hashOf("a")))).to.deep.equal({
          patient: patient.address,
          anchoredAt: await time.latest(),
          status: RecordStatus.Active,
          category: LAB,
          anchoredBy: patient.address,
          supersededBy: ZERO,
        });
      });

      it("should leave the anchoredBy slot unwritten (zero), which a delegate's record fills", async function () {
        // The packed layout (IRecordRegistry.Record): slot 0 patient | anchoredAt | status, slot 1 category,
        // slot 2 anchoredBy, slot 3 supersededBy; `_records` is the contract's first storage variable. A patient's
        // own record skips the anchoredBy SSTORE (recordOf reports the patient); the delegate's record shows the slot.
        const { records, patient, delegate } = await loadFixture(deployWithWriters);
        const anchoredBySlot = (id: string) =>
          ethers.provider.getStorage(
            records.target,
            BigInt(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [id, 0]))) + 2n,
          );
        await records.connect(patient).anchor(patient.address, LAB, hashOf("a"), ZERO, "");
        await records.connect(delegate).anchor(patient.address, LAB, hashOf("b"), ZERO, "");
        expect(await anchoredBySlot(recordId(patient.address, hashOf("a")))).to.equal(ZERO);
        expect(await anchoredBySlot(recordId(patient.address, hashOf("b")))).to.equal(
          ethers.zeroPadValue(delegate.address.toLowerCase(), 32),
        );
      });

      it("should accept an empty URI and a URI of exactly 512 bytes", async function () {
        const { records, patient } = await loadFixture(deployWithWriters);
        const writer = records.connect(patient);
        await expect(writer.anchor(patient.address, LAB, hashOf("a"), ZERO, "")).to.emit(records, "RecordAnchored");
        const longest = "x".repeat(MAX_URI_LENGTH);
        await expect(writer.anchor(patient.address, LAB, hashOf("b"), ZERO, longest))
          .to.emit(records, "RecordAnchored")
          .withArgs(
            recordId(patient.address, hashOf("b")),
            patient.address,
            LAB,
            hashOf("b"),
            patient.address,
            ZERO,
            longest,
          );
      });
    });

    context("when a delegate of the patient anchors", function () {
      it("should accept it while the delegate's term runs, recording the delegate as anchoredBy", async function () {
        const { records, patient, delegate } = await loadFixture(deployWithWriters);
        const id = recordId(patient.address, hashOf("a"));
        await expect(records.connect(delegate).anchor(patient.address, IMAGING, hashOf("a"), ZERO, ""))
          .to.emit(records, "RecordAnchored")
          .withArgs(id, patient.address, IMAGING, hashOf("a"), delegate.address, ZERO, "");
        expect((await recordOf(records, id)).anchoredBy).to.equal(delegate.address);
      });

      it("should refuse it with NotAuthorizedWriter once the delegate's term has ended", async function () {
        const { records, patient, delegate, expiresAt } = await loadFixture(deployWithWriters);
        await time.increaseTo(expiresAt);
        await expect(records.connect(delegate).anchor(patient.address, LAB, hashOf("a"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, delegate.address, LAB);
      });
    });

    context("when a provider anchors under the patient's consent", function () {
      it("should accept a provider with a COLLECT permit on the category", async function () {
        const { records, patient, clinic } = await loadFixture(deployWithWriters);
        const id = recordId(patient.address, hashOf("a"));
        await expect(records.connect(clinic).anchor(patient.address, LAB, hashOf("a"), ZERO, uriOf("a")))
          .to.emit(records, "RecordAnchored")
          .withArgs(id, patient.address, LAB, hashOf("a"), clinic.address, ZERO, uriOf("a"));
        expect(await recordOf(records, id)).to.deep.equal({
          patient: patient.address,
          anchoredAt: await time.latest(),
          status: RecordStatus.Active,
          category: LAB,
          anchoredBy: clinic.address,
          supersededBy: ZERO,
        });
      });

      it("should refuse that provider in a category its permit does not cover", async function () {
        const { records, patient, clinic } = await loadFixture(deployWithWriters);
        await expect(records.connect(clinic).anchor(patient.address, IMAGING, hashOf("a"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, clinic.address, IMAGING);
      });

      it("should refuse a provider whose consent has expired", async function () {
        const { records, patient, clinic, expiresAt } = await loadFixture(deployWithWriters);
        await time.increaseTo(expiresAt);
        await expect(records.connect(clinic).anchor(patient.address, LAB, hashOf("a"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, clinic.address, LAB);
      });

      it("should refuse a provider whose permits the patient revoked all at once", async function () {
        const { records, consents, patient, clinic } = await loadFixture(deployWithWriters);
        await consents.connect(patient).revokeAll();
        await expect(records.connect(clinic).anchor(patient.address, LAB, hashOf("a"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, clinic.address, LAB);
      });

      it("should refuse a registered provider that was suspended", async function () {
        const { records, providers, registrar, patient, clinic } = await loadFixture(deployWithWriters);
        await providers.connect(registrar).suspend(clinic.address, REASON);
        await expect(records.connect(clinic).anchor(patient.address, LAB, hashOf("a"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, clinic.address, LAB);
      });

      it("should refuse a grantee permitted only to ACCESS (and USE) the category", async function () {
        const { records, consents, patient, other } = await loadFixture(deployWithWriters);
        expect(await consents.isAuthorized(patient.address, other.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
          .true;
        await expect(records.connect(other).anchor(patient.address, LAB, hashOf("a"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, other.address, LAB);
      });

      it("should accept a grantee with a COLLECT permit on ANY_CATEGORY in any category", async function () {
        const { records, patient, lab } = await loadFixture(deployWithWriters);
        for (const [category, label] of [
          [LAB, "a"],
          [IMAGING, "b"],
          [MENTAL_HEALTH, "c"],
        ]) {
          await expect(records.connect(lab).anchor(patient.address, category, hashOf(label), ZERO, ""))
            .to.emit(records, "RecordAnchored")
            .withArgs(
              recordId(patient.address, hashOf(label)),
              patient.address,
              category,
              hashOf(label),
              lab.address,
              ZERO,
              "",
            );
        }
      });

      it("should refuse an ANY_CATEGORY grantee in a category the patient denied it", async function () {
        const { records, consents, patient, lab } = await loadFixture(deployWithWriters);
        await consents.connect(patient).deny(lab.address, MENTAL_HEALTH);
        await expect(records.connect(lab).anchor(patient.address, MENTAL_HEALTH, hashOf("a"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, lab.address, MENTAL_HEALTH);
        await expect(records.connect(lab).anchor(patient.address, LAB, hashOf("a"), ZERO, "")).to.emit(
          records,
          "RecordAnchored",
        );
      });
    });

    context("when anyone else anchors", function () {
      it("should refuse a stranger with NotAuthorizedWriter", async function () {
        const { records, patient, stranger } = await loadFixture(deployWithWriters);
        await expect(records.connect(stranger).anchor(patient.address, LAB, hashOf("a"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, stranger.address, LAB);
      });

      it("should refuse a writer of one patient anchoring for another patient", async function () {
        const { records, other, clinic, delegate } = await loadFixture(deployWithWriters);
        for (const writer of [clinic, delegate]) {
          await expect(records.connect(writer).anchor(other.address, LAB, hashOf("a"), ZERO, ""))
            .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
            .withArgs(other.address, writer.address, LAB);
        }
      });
    });

    context("when the input is invalid", function () {
      it("should revert with ZeroCategory for a zero category", async function () {
        const { records, patient } = await loadFixture(deployWithWriters);
        await expect(
          records.connect(patient).anchor(patient.address, ZERO, hashOf("a"), ZERO, ""),
        ).to.be.revertedWithCustomError(records, "ZeroCategory");
      });

      it("should revert with NotADataCategory for ANY_CATEGORY, even from a writer of every category", async function () {
        const { records, patient, lab } = await loadFixture(deployWithWriters);
        for (const writer of [patient, lab]) {
          await expect(records.connect(writer).anchor(patient.address, ANY_CATEGORY, hashOf("a"), ZERO, ""))
            .to.be.revertedWithCustomError(records, "NotADataCategory")
            .withArgs(ANY_CATEGORY);
        }
      });

      it("should revert with ZeroContentHash for a zero content hash", async function () {
        const { records, patient } = await loadFixture(deployWithWriters);
        await expect(
          records.connect(patient).anchor(patient.address, LAB, ZERO, ZERO, ""),
        ).to.be.revertedWithCustomError(records, "ZeroContentHash");
      });

      it("should revert with UriTooLong(513, 512) for a URI of 513 bytes", async function () {
        const { records, patient } = await loadFixture(deployWithWriters);
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("a"), ZERO, "x".repeat(513)))
          .to.be.revertedWithCustomError(records, "UriTooLong")
          .withArgs(513, MAX_URI_LENGTH);
      });

      it("should count the URI in bytes, not characters", async function () {
        const { records, patient } = await loadFixture(deployWithWriters);
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("a"), ZERO, "€".repeat(171)))
          .to.be.revertedWithCustomError(records, "UriTooLong")
          .withArgs(513, MAX_URI_LENGTH);
      });
    });

    context("when the content is already anchored", function () {
      it("should revert with AlreadyAnchored for the same patient, whatever the category or writer", async function () {
        const { records, patient, lab, reportId } = await loadFixture(deployWithRecords);
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("report"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "AlreadyAnchored")
          .withArgs(reportId);
        await expect(records.connect(lab).anchor(patient.address, IMAGING, hashOf("report"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "AlreadyAnchored")
          .withArgs(reportId);
      });

      it("should revert with AlreadyAnchored even when the record was retracted", async function () {
        const { records, patient, reportId } = await loadFixture(deployWithRecords);
        await records.connect(patient).retract(reportId, REASON);
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("report"), ZERO, ""))
          .to.be.revertedWithCustomError(records, "AlreadyAnchored")
          .withArgs(reportId);
      });

      it("should accept the same content for another patient, as another record", async function () {
        const { records, other, reportId } = await loadFixture(deployWithRecords);
        const id = recordId(other.address, hashOf("report"));
        expect(id).not.to.equal(reportId);
        await expect(records.connect(other).anchor(other.address, LAB, hashOf("report"), ZERO, ""))
          .to.emit(records, "RecordAnchored")
          .withArgs(id, other.address, LAB, hashOf("report"), other.address, ZERO, "");
      });
    });

    context("when the record supersedes an earlier version", function () {
      it("should chain v1 <- v2 <- v3: statuses and supersededBy pointers", async function () {
        const { records, patient, v1, v2, v3 } = await loadFixture(deployWithVersionChain);
        const [r1, r2, r3] = await Promise.all([v1, v2, v3].map((id) => recordOf(records, id)));
        expect([r1.status, r2.status, r3.status]).to.deep.equal([
          RecordStatus.Superseded,
          RecordStatus.Superseded,
          RecordStatus.Active,
        ]);
        expect([r1.supersededBy, r2.supersededBy, r3.supersededBy]).to.deep.equal([v2, v3, ZERO]);
        expect([r1.patient, r2.patient, r3.patient]).to.deep.equal([patient.address, patient.address, patient.address]);
        const [, s1] = await records.verify(patient.address, hashOf("note v1"));
        expect(s1).to.equal(RecordStatus.Superseded);
      });

      it("should emit RecordAnchored with the superseded record's id", async function () {
        const { records, patient, clinic, scanId } = await loadFixture(deployWithRecords);
        const id = recordId(patient.address, hashOf("scan v2"));
        await expect(records.connect(clinic).anchor(patient.address, LAB, hashOf("scan v2"), scanId, uriOf("scan v2")))
          .to.emit(records, "RecordAnchored")
          .withArgs(id, patient.address, LAB, hashOf("scan v2"), clinic.address, scanId, uriOf("scan v2"));
        expect((await recordOf(records, scanId)).supersededBy).to.equal(id);
      });

      it("should let a delegate supersede a record a provider anchored", async function () {
        const { records, patient, delegate, scanId } = await loadFixture(deployWithRecords);
        await records.connect(delegate).anchor(patient.address, LAB, hashOf("scan v2"), scanId, "");
        expect((await recordOf(records, scanId)).status).to.equal(RecordStatus.Superseded);
      });

      it("should revert with UnknownRecord when the superseded record was never anchored", async function () {
        const { records, patient } = await loadFixture(deployWithRecords);
        const unknown = recordId(patient.address, hashOf("never anchored"));
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("a"), unknown, ""))
          .to.be.revertedWithCustomError(records, "UnknownRecord")
          .withArgs(unknown);
      });

      it("should revert with ForeignRecord when the superseded record is another patient's", async function () {
        const { records, patient, other, reportId } = await loadFixture(deployWithRecords);
        await expect(records.connect(other).anchor(other.address, LAB, hashOf("a"), reportId, ""))
          .to.be.revertedWithCustomError(records, "ForeignRecord")
          .withArgs(reportId);
        expect((await recordOf(records, reportId)).status).to.equal(RecordStatus.Active);
        expect((await recordOf(records, reportId)).patient).to.equal(patient.address);
      });

      it("should revert with SupersedesRetracted when the superseded record was retracted", async function () {
        const { records, patient, reportId } = await loadFixture(deployWithRecords);
        await records.connect(patient).retract(reportId, REASON);
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("a"), reportId, ""))
          .to.be.revertedWithCustomError(records, "SupersedesRetracted")
          .withArgs(reportId);
      });

      it("should revert with CategoryMismatch when the new version is in another category", async function () {
        const { records, patient, reportId } = await loadFixture(deployWithRecords);
        await expect(records.connect(patient).anchor(patient.address, IMAGING, hashOf("a"), reportId, ""))
          .to.be.revertedWithCustomError(records, "CategoryMismatch")
          .withArgs(reportId, LAB);
        expect((await recordOf(records, reportId)).status).to.equal(RecordStatus.Active);
      });

      it("should revert with NotAuthorizedSuperseder when a writer supersedes a record someone else anchored", async function () {
        // `lab` may COLLECT every category, but it did not anchor the clinic's scan nor the patient's report.
        const { records, patient, lab, scanId, reportId } = await loadFixture(deployWithRecords);
        for (const target of [scanId, reportId]) {
          await expect(records.connect(lab).anchor(patient.address, LAB, hashOf("junk"), target, ""))
            .to.be.revertedWithCustomError(records, "NotAuthorizedSuperseder")
            .withArgs(target, lab.address);
          expect((await recordOf(records, target)).status).to.equal(RecordStatus.Active);
        }
      });

      it("should revert with AlreadySuperseded(v1, v2) when v1 is superseded again", async function () {
        const { records, patient, v1, v2 } = await loadFixture(deployWithVersionChain);
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("fork"), v1, ""))
          .to.be.revertedWithCustomError(records, "AlreadySuperseded")
          .withArgs(v1, v2);
      });
    });
  });

  describe("retract", function () {
    /** Retracts `id` as `by` and checks the event and the new status. */
    async function expectRetracted(records: RecordRegistry, id: string, patient: string, by: HardhatEthersSigner) {
      await expect(records.connect(by).retract(id, REASON))
        .to.emit(records, "RecordRetracted")
        .withArgs(id, patient, REASON, by.address);
      expect((await recordOf(records, id)).status).to.equal(RecordStatus.Retracted);
    }

    it("should let the patient retract any of their records", async function () {
      const { records, patient, reportId, scanId } = await loadFixture(deployWithRecords);
      await expectRetracted(records, reportId, patient.address, patient);
      await expectRetracted(records, scanId, patient.address, patient);
    });

    it("should let a delegate of the patient retract", async function () {
      const { records, patient, delegate, scanId } = await loadFixture(deployWithRecords);
      await expectRetracted(records, scanId, patient.address, delegate);
    });

    it("should let the anchoring provider retract while it may still write the category", async function () {
      const { records, patient, clinic, scanId } = await loadFixture(deployWithRecords);
      await expectRetracted(records, scanId, patient.address, clinic);
    });

    context("when the anchorer may no longer write the record's category", function () {
      it("should refuse it once its COLLECT consent has expired", async function () {
        const { records, clinic, scanId, expiresAt } = await loadFixture(deployWithRecords);
        await time.increaseTo(expiresAt);
        await expect(records.connect(clinic).retract(scanId, REASON))
          .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
          .withArgs(scanId, clinic.address);
      });

      it("should refuse it once the patient revoked its consent", async function () {
        const { records, consents, patient, clinic, scanId } = await loadFixture(deployWithRecords);
        await consents.connect(patient).revoke(clinic.address, LAB);
        await expect(records.connect(clinic).retract(scanId, REASON))
          .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
          .withArgs(scanId, clinic.address);
      });

      for (const [label, change] of [
        ["denied it the category", (f: RecordsFixture) => f.consents.connect(f.patient).deny(f.clinic.address, LAB)],
        [
          "denied it every category",
          (f: RecordsFixture) => f.consents.connect(f.patient).deny(f.clinic.address, ANY_CATEGORY),
        ],
        ["revoked everything", (f: RecordsFixture) => f.consents.connect(f.patient).revokeAll()],
      ] as const) {
        it(`should refuse it once the patient ${label}`, async function () {
          const fixture = await loadFixture(deployWithRecords);
          const { records, clinic, scanId } = fixture;
          await change(fixture);
          await expect(records.connect(clinic).retract(scanId, REASON))
            .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
            .withArgs(scanId, clinic.address);
        });
      }

      it("should refuse its supersession too, and leave it to the patient", async function () {
        const { records, consents, patient, clinic, scanId } = await loadFixture(deployWithRecords);
        await consents.connect(patient).deny(clinic.address, ANY_CATEGORY);
        await expect(records.connect(clinic).anchor(patient.address, LAB, hashOf("scan v2"), scanId, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, clinic.address, LAB);
        await expect(records.connect(patient).anchor(patient.address, LAB, hashOf("scan v2"), scanId, "")).to.emit(
          records,
          "RecordAnchored",
        );
      });

      it("should refuse a removed delegate that anchored the record", async function () {
        const { records, consents, patient, delegate } = await loadFixture(deployWithRecords);
        await records.connect(delegate).anchor(patient.address, IMAGING, hashOf("x-ray"), ZERO, "");
        const xray = recordId(patient.address, hashOf("x-ray"));
        await consents.connect(patient).removeDelegate(delegate.address);
        await expect(records.connect(delegate).retract(xray, REASON))
          .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
          .withArgs(xray, delegate.address);
        await expect(records.connect(delegate).anchor(patient.address, IMAGING, hashOf("x-ray v2"), xray, ""))
          .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
          .withArgs(patient.address, delegate.address, IMAGING);
      });
    });

    it("should keep everything but the status", async function () {
      const { records, patient, reportId } = await loadFixture(deployWithRecords);
      const before = await recordOf(records, reportId);
      await records.connect(patient).retract(reportId, REASON);
      expect(await recordOf(records, reportId)).to.deep.equal({ ...before, status: RecordStatus.Retracted });
      const [anchored, status, anchoredAt] = await records.verify(patient.address, hashOf("report"));
      expect([anchored, Number(status), Number(anchoredAt)]).to.deep.equal([
        true,
        RecordStatus.Retracted,
        before.anchoredAt,
      ]);
    });

    it("should retract a superseded version, keeping its supersededBy pointer", async function () {
      const { records, patient, v1, v2 } = await loadFixture(deployWithVersionChain);
      await expectRetracted(records, v1, patient.address, patient);
      expect((await recordOf(records, v1)).supersededBy).to.equal(v2);
    });

    it("should refuse the anchoring provider while it is suspended, and accept it once reinstated", async function () {
      const { records, providers, registrar, patient, clinic, scanId } = await loadFixture(deployWithRecords);
      await providers.connect(registrar).suspend(clinic.address, REASON);
      await expect(records.connect(clinic).retract(scanId, REASON))
        .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
        .withArgs(scanId, clinic.address);
      await providers.connect(registrar).reinstate(clinic.address);
      await expectRetracted(records, scanId, patient.address, clinic);
    });

    it("should refuse the anchoring provider's retired key and accept its current key after a rotation", async function () {
      const { records, providers, patient, clinic, relayer: newKey, scanId } = await loadFixture(deployWithRecords);
      await rotateKey(providers, clinic, newKey);
      await expect(records.connect(clinic).retract(scanId, REASON))
        .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
        .withArgs(scanId, clinic.address);
      await expectRetracted(records, scanId, patient.address, newKey);
    });

    it("should revert with NotAuthorizedRetractor for a stranger", async function () {
      const { records, stranger, reportId } = await loadFixture(deployWithRecords);
      await expect(records.connect(stranger).retract(reportId, REASON))
        .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
        .withArgs(reportId, stranger.address);
    });

    it("should revert with NotAuthorizedRetractor for a writer that did not anchor the record", async function () {
      const { records, clinic, lab, reportId, scanId } = await loadFixture(deployWithRecords);
      await expect(records.connect(clinic).retract(reportId, REASON))
        .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
        .withArgs(reportId, clinic.address);
      await expect(records.connect(lab).retract(scanId, REASON))
        .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
        .withArgs(scanId, lab.address);
    });

    it("should revert with NotAuthorizedRetractor for a delegate whose term has ended", async function () {
      const { records, delegate, reportId, expiresAt } = await loadFixture(deployWithRecords);
      await time.increaseTo(expiresAt);
      await expect(records.connect(delegate).retract(reportId, REASON))
        .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
        .withArgs(reportId, delegate.address);
    });

    it("should revert with UnknownRecord for a record never anchored", async function () {
      const { records, patient } = await loadFixture(deployWithRecords);
      const unknown = recordId(patient.address, hashOf("never anchored"));
      await expect(records.connect(patient).retract(unknown, REASON))
        .to.be.revertedWithCustomError(records, "UnknownRecord")
        .withArgs(unknown);
    });

    it("should revert with AlreadyRetracted the second time", async function () {
      const { records, patient, delegate, reportId } = await loadFixture(deployWithRecords);
      await records.connect(patient).retract(reportId, REASON);
      await expect(records.connect(delegate).retract(reportId, REASON))
        .to.be.revertedWithCustomError(records, "AlreadyRetracted")
        .withArgs(reportId);
    });
  });

  describe("recordOf", function () {
    it("should return all zero for an unknown record id", async function () {
      const { records, patient } = await loadFixture(deployWithRecords);
      expect(await recordOf(records, recordId(patient.address, hashOf("never anchored")))).to.deep.equal({
        patient: ethers.ZeroAddress,
        anchoredAt: 0,
        status: RecordStatus.None,
        category: ZERO,
        anchoredBy: ethers.ZeroAddress,
        supersededBy: ZERO,
      });
    });
  });

  describe("verify", function () {
    it("should report an anchored fingerprint with its status and time", async function () {
      const { records, patient } = await loadFixture(deployWithWriters);
      await records.connect(patient).anchor(patient.address, LAB, hashOf("a"), ZERO, "");
      const anchoredAt = await time.latest();
      const [anchored, status, at] = await records.verify(patient.address, hashOf("a"));
      expect([anchored, Number(status), Number(at)]).to.deep.equal([true, RecordStatus.Active, anchoredAt]);
    });

    it("should report an unanchored fingerprint as (false, None, 0)", async function () {
      const { records, patient } = await loadFixture(deployWithRecords);
      const [anchored, status, at] = await records.verify(patient.address, hashOf("never anchored"));
      expect([anchored, Number(status), Number(at)]).to.deep.equal([false, RecordStatus.None, 0]);
    });

    it("should not report a patient's fingerprint as anchored for another patient", async function () {
      const { records, other } = await loadFixture(deployWithRecords);
      const [anchored] = await records.verify(other.address, hashOf("report"));
      expect(anchored).to.be.false;
    });
  });

  describe("anchorBatch", function () {
    context("with a batch of 1,000 records", function () {
      it("should emit BatchAnchored with every argument", async function () {
        const { records, lab, batch, tx, id } = await loadFixture(deployWithBatch);
        await expect(tx).to.emit(records, "BatchAnchored").withArgs(id, batch.root, BATCH_SIZE, lab.address, MANIFEST);
      });

      it("should store the batch under uint256(keccak256(abi.encode(submitter, root)))", async function () {
        const { records, lab, batch, tx, id } = await loadFixture(deployWithBatch);
        const block = await ethers.provider.getBlock((await tx.wait())!.blockNumber);
        const expected = BigInt(
          ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [lab.address, batch.root])),
        );
        expect(id).to.equal(expected);
        const stored = await records.batchOf(id);
        expect([stored.root, stored.submitter, Number(stored.count), Number(stored.anchoredAt)]).to.deep.equal([
          batch.root,
          lab.address,
          BATCH_SIZE,
          block!.timestamp,
        ]);
      });

      it("should verify ON-CHAIN the proofs of the first, a middle and the last item", async function () {
        const { records, items, batch, id } = await loadFixture(deployWithBatch);
        for (const i of [0, 499, BATCH_SIZE - 1]) {
          const { patient, category, contentHash: hash } = items[i];
          expect(batch.proofs[i].length).to.be.within(9, 10);
          expect(await records.verifyBatchItem(id, batch.proofs[i], patient, category, hash)).to.be.true;
        }
      });

      it("should refuse a tampered item: changed hash, changed patient, changed category", async function () {
        const { records, items, batch, id } = await loadFixture(deployWithBatch);
        const { patient, category, contentHash: hash } = items[499];
        const proof = batch.proofs[499];
        expect(await records.verifyBatchItem(id, proof, patient, category, hashOf("forged"))).to.be.false;
        expect(await records.verifyBatchItem(id, proof, items[500].patient, category, hash)).to.be.false;
        expect(await records.verifyBatchItem(id, proof, patient, categoryId("genomics"), hash)).to.be.false;
      });

      it("should refuse an item with another item's proof", async function () {
        const { records, items, batch, id } = await loadFixture(deployWithBatch);
        const { patient, category, contentHash: hash } = items[499];
        expect(await records.verifyBatchItem(id, batch.proofs[498], patient, category, hash)).to.be.false;
        expect(await records.verifyBatchItem(id, [], patient, category, hash)).to.be.false;
      });

      it("should return false for an unknown batch id, even with a valid proof", async function () {
        const { records, stranger, items, batch } = await loadFixture(deployWithBatch);
        const { patient, category, contentHash: hash } = items[0];
        const unknown = batchId(stranger.address, batch.root);
        expect((await records.batchOf(unknown)).root).to.equal(ZERO);
        expect(await records.verifyBatchItem(unknown, batch.proofs[0], patient, category, hash)).to.be.false;
      });

      it("should give another submitter of the same root another id, both batches existing", async function () {
        const { records, lab, clinic, items, batch, id } = await loadFixture(deployWithBatch);
        const strangerId = batchId(clinic.address, batch.root);
        expect(strangerId).not.to.equal(id);
        await expect(records.connect(clinic).anchorBatch(batch.root, BATCH_SIZE, ""))
          .to.emit(records, "BatchAnchored")
          .withArgs(strangerId, batch.root, BATCH_SIZE, clinic.address, "");
        expect((await records.batchOf(id)).submitter).to.equal(lab.address);
        expect((await records.batchOf(strangerId)).submitter).to.equal(clinic.address);
        const { patient, category, contentHash: hash } = items[7];
        for (const batchIdOf of [id, strangerId]) {
          expect(await records.verifyBatchItem(batchIdOf, batch.proofs[7], patient, category, hash)).to.be.true;
        }
      });

      it("should revert with BatchAlreadyAnchored when the submitter anchors the same root again", async function () {
        const { records, lab, batch, id } = await loadFixture(deployWithBatch);
        await expect(records.connect(lab).anchorBatch(batch.root, BATCH_SIZE, ""))
          .to.be.revertedWithCustomError(records, "BatchAlreadyAnchored")
          .withArgs(id);
      });
    });

    it("should verify the single item of a batch of one with an empty proof", async function () {
      const { records, patient, clinic } = await loadFixture(deployWithWriters);
      const item = { patient: patient.address, category: LAB, contentHash: hashOf("only") };
      const batch = buildBatch([item]);
      await records.connect(clinic).anchorBatch(batch.root, 1, "");
      const id = batchId(clinic.address, batch.root);
      expect(await records.verifyBatchItem(id, [], item.patient, item.category, item.contentHash)).to.be.true;
    });

    it("should revert with ZeroRoot for a zero root", async function () {
      const { records, lab } = await loadFixture(deployWithWriters);
      await expect(records.connect(lab).anchorBatch(ZERO, 1, "")).to.be.revertedWithCustomError(records, "ZeroRoot");
    });

    it("should revert with EmptyBatch for a count of zero", async function () {
      const { records, lab } = await loadFixture(deployWithWriters);
      await expect(records.connect(lab).anchorBatch(hashOf("root"), 0, "")).to.be.revertedWithCustomError(
        records,
        "EmptyBatch",
      );
    });

    it("should revert with UriTooLong(513, 512) for a URI of 513 bytes and accept 512", async function () {
      const { records, clinic } = await loadFixture(deployWithWriters);
      await expect(records.connect(clinic).anchorBatch(hashOf("root"), 1, "x".repeat(513)))
        .to.be.revertedWithCustomError(records, "UriTooLong")
        .withArgs(513, MAX_URI_LENGTH);
      await expect(records.connect(clinic).anchorBatch(hashOf("root"), 1, "x".repeat(MAX_URI_LENGTH)))
        .to.emit(records, "BatchAnchored")
        .withArgs(
          batchId(clinic.address, hashOf("root")),
          hashOf("root"),
          1,
          clinic.address,
          "x".repeat(MAX_URI_LENGTH),
        );
    });

    context("when the caller is not an active registered provider", function () {
      it("should revert with NotActiveProvider for a patient, a stranger or an unregistered grantee", async function () {
        const { records, patient, stranger, lab } = await loadFixture(deployWithWriters);
        for (const caller of [patient, stranger, lab]) {
          await expect(records.connect(caller).anchorBatch(hashOf("root"), 1, ""))
            .to.be.revertedWithCustomError(records, "NotActiveProvider")
            .withArgs(caller.address);
        }
      });

      it("should revert with NotActiveProvider for a suspended provider and a retired key", async function () {
        const {
          records,
          providers,
          registrar,
          clinic,
          emergencyDoctor,
          relayer: newKey,
        } = await loadFixture(deployWithWriters);
        await providers.connect(registrar).suspend(clinic.address, REASON);
        await rotateKey(providers, emergencyDoctor, newKey);
        for (const caller of [clinic, emergencyDoctor]) {
          await expect(records.connect(caller).anchorBatch(hashOf("root"), 1, ""))
            .to.be.revertedWithCustomError(records, "NotActiveProvider")
            .withArgs(caller.address);
        }
        await expect(records.connect(newKey).anchorBatch(hashOf("root"), 1, "")).to.emit(records, "BatchAnchored");
      });
    });
  });

  describe("retractBatchItem", function () {
    /** {deployWithBatch}, with `patient` named by the batch's item 3 and `delegate` appointed by that patient. */
    async function deployWithPatientInBatch() {
      const fixture = await deployWithProviders();
      const { records, providers, registrar, consents, patient, delegate, lab } = fixture;
      await providers.connect(registrar).register(lab.address, ethers.id("npi:lab"), 1, "");
      await consents.connect(patient).setDelegate(delegate.address, (await now()) + 30 * DAY);
      const items: BatchItem[] = Array.from({ length: 8 }, (_, i) => ({
        patient: i === 3 || i === 5 ? patient.address : ethers.getAddress(ethers.dataSlice(ethers.id(`p ${i}`), 12)),
        category: i % 2 ? LAB : IMAGING,
        contentHash: hashOf(`small batch item ${i}`),
      }));
      const batch = buildBatch(items);
      await records.connect(lab).anchorBatch(batch.root, batch.count, MANIFEST);
      return { ...fixture, items, batch, id: batchId(lab.address, batch.root) };
    }

    it("should let the patient retract an item naming them, emit BatchItemRetracted, and fail its verification", async function () {
      const { records, patient, items, batch, id } = await loadFixture(deployWithPatientInBatch);
      const { category, contentHash: hash } = items[3];
      expect(await records.verifyBatchItem(id, batch.proofs[3], patient.address, category, hash)).to.be.true;
      await expect(records.connect(patient).retractBatchItem(id, patient.address, category, hash, REASON))
        .to.emit(records, "BatchItemRetracted")
        .withArgs(id, batchLeaf(items[3]), patient.address, REASON, patient.address);
      expect(await records.verifyBatchItem(id, batch.proofs[3], patient.address, category, hash)).to.be.false;
      expect(await records.isBatchItemRetracted(id, patient.address, category, hash)).to.be.true;
      // The batch and its other items stay.
      expect((await records.batchOf(id)).root).to.equal(batch.root);
      const other = items[5];
      expect(await records.verifyBatchItem(id, batch.proofs[5], other.patient, other.category, other.contentHash)).to.be
        .true;
      expect(await records.isBatchItemRetracted(id, other.patient, other.category, other.contentHash)).to.be.false;
    });

    it("should let a live delegate of the patient retract it", async function () {
      const { records, patient, delegate, items, batch, id } = await loadFixture(deployWithPatientInBatch);
      const { category, contentHash: hash } = items[5];
      await expect(records.connect(delegate).retractBatchItem(id, patient.address, category, hash, REASON))
        .to.emit(records, "BatchItemRetracted")
        .withArgs(id, batchLeaf(items[5]), patient.address, REASON, delegate.address);
      expect(await records.verifyBatchItem(id, batch.proofs[5], patient.address, category, hash)).to.be.false;
    });

    it("should revert with NotAuthorizedBatchRetractor for the submitter, a stranger or a former delegate", async function () {
      const { records, consents, patient, delegate, lab, stranger, items, id } =
        await loadFixture(deployWithPatientInBatch);
      const { category, contentHash: hash } = items[3];
      await consents.connect(patient).removeDelegate(delegate.address);
      for (const caller of [lab, stranger, delegate]) {
        await expect(records.connect(caller).retractBatchItem(id, patient.address, category, hash, REASON))
          .to.be.revertedWithCustomError(records, "NotAuthorizedBatchRetractor")
          .withArgs(patient.address, caller.address);
      }
    });

    it("should revert with BatchItemAlreadyRetracted the second time", async function () {
      const { records, patient, items, id } = await loadFixture(deployWithPatientInBatch);
      const { category, contentHash: hash } = items[3];
      await records.connect(patient).retractBatchItem(id, patient.address, category, hash, REASON);
      await expect(records.connect(patient).retractBatchItem(id, patient.address, category, hash, REASON))
        .to.be.revertedWithCustomError(records, "BatchItemAlreadyRetracted")
        .withArgs(id, batchLeaf(items[3]));
    });

    it("should revert with UnknownBatch for a batch never anchored", async function () {
      const { records, patient, items, batch, stranger } = await loadFixture(deployWithPatientInBatch);
      const unknown = batchId(stranger.address, batch.root);
      const { category, contentHash: hash } = items[3];
      await expect(records.connect(patient).retractBatchItem(unknown, patient.address, category, hash, REASON))
        .to.be.revertedWithCustomError(records, "UnknownBatch")
        .withArgs(unknown);
    });
  });

  describe("batchOf", function () {
    it("should return all zero for an unknown batch id", async function () {
      const { records } = await loadFixture(deployWithWriters);
      const stored = await records.batchOf(12345n);
      expect([stored.root, stored.submitter, stored.count, stored.anchoredAt]).to.deep.equal([
        ZERO,
        ethers.ZeroAddress,
        0n,
        0n,
      ]);
    });
  });
});
