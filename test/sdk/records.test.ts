import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";

import { Capability, categoryId, MAX_URI_LENGTH, RecordStatus } from "../../src/codes";
import {
  anchorBatchItems,
  anchorRecord,
  BATCH_LEAF_ENCODING,
  batchId,
  batchLeaf,
  buildBatch,
  cidDigest,
  cidFor,
  contentHash,
  recordId,
  retractRecord,
  verifyBatchItemOnChain,
  verifyBatchProof,
  verifyFile,
  type BatchItem,
} from "../../src/records";
import { deployRegistries } from "../helpers/fixtures";

const abi = ethers.AbiCoder.defaultAbiCoder();
const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");

/** SHA-256 test vectors (FIPS 180-2). */
const SHA256_ABC = "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const SHA256_EMPTY = "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The example CID of the IPFS documentation, as v0 and as v1 (dag-pb, base32), and its sha2-256 digest. */
const DOCS_CID_V0 = "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR";
const DOCS_CID_V1 = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const DOCS_DIGEST = "0xc3c4733ec8affd06cf9e9ff50ffc6bcd2ec85a6170004bb709669c31de94391a";

/** RFC 4648 base32, lower case, unpadded: what a "b..." multibase string is. Independent of multiformats. */
function base32(bytes: Uint8Array): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

const text = (s: string) => ethers.toUtf8Bytes(s);

/** `n` distinct batch items over a few patients and categories. */
function items(n: number): BatchItem[] {
  return Array.from({ length: n }, (_, i) => ({
    patient: ethers.getAddress(ethers.dataSlice(ethers.id(`patient ${i % 7}`), 12)),
    category: i % 2 === 0 ? LAB : IMAGING,
    contentHash: contentHash(text(`record ${i}`)),
  }));
}

describe("records (SDK)", function () {
  describe("contentHash", function () {
    it("should return the SHA-256 of bytes as a bytes32 (FIPS 180-2 vector 'abc')", function () {
      expect(contentHash(text("abc"))).to.equal(SHA256_ABC);
    });

    it("should hash the empty input", function () {
      expect(contentHash(new Uint8Array())).to.equal(SHA256_EMPTY);
      expect(contentHash("0x")).to.equal(SHA256_EMPTY);
    });

    it("should read a string argument as 0x hex data", function () {
      expect(contentHash("0x616263")).to.equal(SHA256_ABC);
    });

    it("should accept a Buffer", function () {
      expect(contentHash(Buffer.from("abc"))).to.equal(SHA256_ABC);
    });

    it("should refuse a string that is not whole-byte 0x hex", function () {
      expect(() => contentHash("abc")).to.throw(/0x-prefixed hex data/);
      expect(() => contentHash("0x616")).to.throw(/0x-prefixed hex data/);
    });
  });

  describe("cidDigest", function () {
    it("should return the digest of a CIDv0, as the base58 decoding of its multihash says", function () {
      const multihash = ethers.toBeHex(ethers.decodeBase58(DOCS_CID_V0), 34);
      expect(ethers.dataSlice(multihash, 0, 2)).to.equal("0x1220");
      expect(cidDigest(DOCS_CID_V0)).to.equal(ethers.dataSlice(multihash, 2)).and.to.equal(DOCS_DIGEST);
    });

    it("should return the same digest for the CIDv1 of the same content", function () {
      expect(cidDigest(DOCS_CID_V1)).to.equal(DOCS_DIGEST);
    });

    it("should return the digest of a raw CIDv1 built independently of multiformats", function () {
      const bytes = ethers.getBytes(ethers.concat(["0x01551220", SHA256_ABC]));
      expect(cidDigest(`b${base32(bytes)}`)).to.equal(SHA256_ABC);
    });

    it("should accept an ipfs:// URI", function () {
      expect(cidDigest(`ipfs://${DOCS_CID_V0}`)).to.equal(DOCS_DIGEST);
    });

    it("should refuse an identity-hash CID, naming the multihash code", function () {
      expect(() => cidDigest("bafkqaaa")).to.throw(Error, /multihash code 0x0 \(identity\).*only sha2-256/);
    });

    it("should refuse a blake2b-256 CID, naming the multihash code", function () {
      const cid = CID.createV1(0x55, Digest.create(0xb220, ethers.getBytes(SHA256_ABC))).toString();
      expect(() => cidDigest(cid)).to.throw(Error, /multihash code 0xb220 \(blake2b-256\)/);
    });

    it("should refuse a sha2-512 CID", function () {
      const cid = CID.createV1(0x55, Digest.create(0x13, ethers.getBytes(ethers.sha512("0x")))).toString();
      expect(() => cidDigest(cid)).to.throw(Error, /multihash code 0x13 \(sha2-512\)/);
    });

    it("should name an unknown multihash code as unknown", function () {
      const cid = CID.createV1(0x55, Digest.create(0x9999, ethers.getBytes(SHA256_ABC))).toString();
      expect(() => cidDigest(cid)).to.throw(Error, /multihash code 0x9999 \(unknown\)/);
    });

    it("should refuse a truncated sha2-256 digest", function () {
      const cid = CID.createV1(0x55, Digest.create(0x12, ethers.getBytes(SHA256_ABC).slice(0, 20))).toString();
      expect(() => cidDigest(cid)).to.throw(Error, /truncated sha2-256 digest of 20 bytes/);
    });

    it("should refuse a string that is not a CID", function () {
      expect(() => cidDigest("not-a-cid")).to.throw(Error, /Invalid CID "not-a-cid"/);
      expect(() => cidDigest(`ipfs://${DOCS_CID_V0}/file.pdf`)).to.throw(Error, /Invalid CID/);
    });
  });

  describe("cidFor", function () {
    it("should make the raw-codec sha2-256 CIDv1 in base32", function () {
      const expected = `b${base32(ethers.getBytes(ethers.concat(["0x01551220", SHA256_ABC])))}`;
      expect(cidFor(text("abc"))).to.equal(expected);
      expect(cidFor(text("abc"))).to.match(/^bafk/);
    });

    it("should round trip: cidDigest(cidFor(b)) is contentHash(b)", function () {
      for (const bytes of [new Uint8Array(), text("abc"), ethers.randomBytes(1000), Buffer.from("a record")]) {
        expect(cidDigest(cidFor(bytes))).to.equal(contentHash(bytes));
      }
    });

    it("should accept hex data like contentHash", function () {
      expect(cidFor("0x616263")).to.equal(cidFor(text("abc")));
    });
  });

  describe("recordId", function () {
    it("should be keccak256(abi.encode(patient, contentHash))", function () {
      const patient = ethers.Wallet.createRandom().address;
      const expected = ethers.keccak256(abi.encode(["address", "bytes32"], [patient, SHA256_ABC]));
      expect(recordId(patient, SHA256_ABC)).to.equal(expected);
    });

    it("should not depend on the case of the address", function () {
      const patient = ethers.Wallet.createRandom().address;
      expect(recordId(patient.toLowerCase(), SHA256_ABC)).to.equal(recordId(patient, SHA256_ABC));
    });

    it("should differ between patients for the same content", function () {
      const [a, b] = [ethers.Wallet.createRandom().address, ethers.Wallet.createRandom().address];
      expect(recordId(a, SHA256_ABC)).not.to.equal(recordId(b, SHA256_ABC));
    });
  });

  describe("batchLeaf", function () {
    it("should be keccak256(bytes.concat(keccak256(abi.encode(patient, category, contentHash))))", function () {
      const [item] = items(1);
      const inner = ethers.keccak256(
        abi.encode(["address", "bytes32", "bytes32"], [item.patient, item.category, item.contentHash]),
      );
      expect(batchLeaf(item)).to.equal(ethers.keccak256(ethers.concat([inner])));
    });

    it("should equal the StandardMerkleTree leaf hash", function () {
      const batch = buildBatch(items(5));
      for (const item of items(5)) {
        expect(batchLeaf(item)).to.equal(batch.tree.leafHash([item.patient, item.category, item.contentHash]));
      }
    });
  });

  describe("buildBatch", function () {
    it("should give the root, the count, and proofs that StandardMerkleTree.verify accepts", function () {
      const list = items(37);
      const batch = buildBatch(list);
      expect(batch.count).to.equal(37);
      expect(batch.root)
        .to.equal(batch.tree.root)
        .and.to.match(/^0x[0-9a-f]{64}$/);
      expect(batch.proofs).to.have.length(37);
      list.forEach((item, i) => {
        const value = [item.patient, item.category, item.contentHash];
        expect(StandardMerkleTree.verify(batch.root, BATCH_LEAF_ENCODING, value, batch.proofs[i])).to.be.true;
      });
    });

    it("should use the (address, bytes32, bytes32) leaf encoding", function () {
      const batch = buildBatch(items(3));
      expect(batch.tree.dump().leafEncoding).to.deep.equal(["address", "bytes32", "bytes32"]);
    });

    it("should give the proofs in item order, as proofOf does", function () {
      const list = items(10);
      const batch = buildBatch(list);
      list.forEach((item, i) => {
        expect(batch.proofs[i]).to.deep.equal(batch.tree.getProof(i));
        expect(batch.proofOf(item)).to.deep.equal(batch.proofs[i]);
      });
    });

    it("should find an item whose patient address is given in another case", function () {
      const list = items(4);
      const batch = buildBatch(list);
      expect(batch.proofOf({ ...list[2], patient: list[2].patient.toLowerCase() })).to.deep.equal(batch.proofs[2]);
    });

    it("should make the leaf the root of a batch of one, with an empty proof", function () {
      const [item] = items(1);
      const batch = buildBatch([item]);
      expect(batch.root).to.equal(batchLeaf(item));
      expect(batch.proofs).to.deep.equal([[]]);
    });

    it("should not depend on the order of the items", function () {
      const list = items(9);
      expect(buildBatch([...list].reverse()).root).to.equal(buildBatch(list).root);
    });

    it("should refuse an empty batch", function () {
      expect(() => buildBatch([])).to.throw(Error, /at least one record/);
    });

    it("should refuse an item with a zero or malformed hash or category, or a bad patient address", function () {
      const [item] = items(1);
      expect(() => buildBatch([{ ...item, contentHash: ethers.ZeroHash }])).to.throw(/contentHash must not be zero/);
      expect(() => buildBatch([{ ...item, category: ethers.ZeroHash }])).to.throw(/category must not be zero/);
      expect(() => buildBatch([{ ...item, contentHash: "0x1234" }])).to.throw(/contentHash must be a bytes32/);
      expect(() => buildBatch([{ ...item, patient: "0x1234" }])).to.throw();
    });

    it("should refuse the proof of an item that is not in the batch", function () {
      const list = items(4);
      const batch = buildBatch(list.slice(0, 3));
      expect(() => batch.proofOf(list[3])).to.throw(Error, /is not in the batch/);
    });
  });

  describe("verifyBatchProof", function () {
    const list = items(20);
    const batch = buildBatch(list);

    it("should accept every item with its proof", function () {
      list.forEach((item, i) => expect(verifyBatchProof(batch.root, batch.proofs[i], item)).to.be.true);
    });

    it("should refuse a tampered item", function () {
      const item = list[5];
      const proof = batch.proofs[5];
      expect(verifyBatchProof(batch.root, proof, { ...item, contentHash: contentHash(text("forged")) })).to.be.false;
      expect(verifyBatchProof(batch.root, proof, { ...item, patient: list[6].patient })).to.be.false;
      expect(verifyBatchProof(batch.root, proof, { ...item, category: categoryId("genomics") })).to.be.false;
    });

    it("should refuse another item's proof, and another root", function () {
      expect(verifyBatchProof(batch.root, batch.proofs[4], list[5])).to.be.false;
      expect(verifyBatchProof(buildBatch(items(21)).root, batch.proofs[5], list[5])).to.be.false;
    });
  });

  describe("batchId", function () {
    it("should be uint256(keccak256(abi.encode(submitter, root)))", function () {
      const submitter = ethers.Wallet.createRandom().address;
      const { root } = buildBatch(items(3));
      const expected = BigInt(ethers.keccak256(abi.encode(["address", "bytes32"], [submitter, root])));
      expect(batchId(submitter, root)).to.equal(expected);
    });

    it("should differ between submitters of the same root", function () {
      const { root } = buildBatch(items(3));
      const [a, b] = [ethers.Wallet.createRandom().address, ethers.Wallet.createRandom().address];
      expect(batchId(a, root)).not.to.equal(batchId(b, root));
    });
  });

  describe("contract wrappers", function () {
    const FILE = text("Lab report: HbA1c 5.4%");
    const URI = `ipfs://${cidFor(FILE)}`;

    describe("anchorRecord", function () {
      it("should anchor the file's SHA-256 and return its record id, hash and receipt", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        const result = await anchorRecord(records.connect(patient), {
          patient: patient.address,
          category: LAB,
          bytes: FILE,
          uri: URI,
        });
        expect(result.contentHash).to.equal(contentHash(FILE));
        expect(result.recordId).to.equal(recordId(patient.address, contentHash(FILE)));
        expect(result.receipt.status).to.equal(1);
        const event = records.interface.parseLog(result.receipt.logs[0]);
        expect(event?.name).to.equal("RecordAnchored");
        expect(event?.args.recordId).to.equal(result.recordId);
        expect(event?.args.uri).to.equal(URI);
        expect(event?.args.supersedes).to.equal(ethers.ZeroHash);
        const record = await records.recordOf(result.recordId);
        expect(record.status).to.equal(RecordStatus.Active);
        expect(record.category).to.equal(LAB);
      });

      it("should anchor a given contentHash, superseding an earlier version", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        const writer = records.connect(patient);
        const v1 = await anchorRecord(writer, { patient: patient.address, category: LAB, bytes: FILE, uri: URI });
        const hash = contentHash(text("corrected report"));
        const v2 = await anchorRecord(writer, {
          patient: patient.address,
          category: LAB,
          contentHash: hash,
          supersedes: v1.recordId,
          uri: "",
        });
        expect(v2.contentHash).to.equal(hash);
        expect((await records.recordOf(v1.recordId)).supersededBy).to.equal(v2.recordId);
        expect((await records.recordOf(v1.recordId)).status).to.equal(RecordStatus.Superseded);
      });

      it("should refuse both bytes and contentHash, or neither", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        const both = { patient: patient.address, category: LAB, bytes: FILE, contentHash: contentHash(FILE), uri: "" };
        // Casts: the type already forbids these; a JavaScript caller is not stopped by it.
        await expect(anchorRecord(records, both as unknown as Parameters<typeof anchorRecord>[1])).to.be.rejectedWith(
          /exactly one/,
        );
        const neither = { patient: patient.address, category: LAB, uri: "" };
        await expect(
          anchorRecord(records, neither as unknown as Parameters<typeof anchorRecord>[1]),
        ).to.be.rejectedWith(/exactly one/);
      });

      it("should refuse a URI over 512 bytes before sending anything", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        const nonce = await ethers.provider.getTransactionCount(patient.address);
        // 171 three-byte characters: 513 bytes in 171 characters.
        for (const uri of ["x".repeat(MAX_URI_LENGTH + 1), "€".repeat(171)]) {
          await expect(
            anchorRecord(records.connect(patient), { patient: patient.address, category: LAB, bytes: FILE, uri }),
          ).to.be.rejectedWith(Error, /The URI is 513 bytes; the registry accepts at most 512/);
        }
        expect(await ethers.provider.getTransactionCount(patient.address)).to.equal(nonce);
      });

      it("should accept a URI of exactly 512 bytes", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        const uri = "x".repeat(MAX_URI_LENGTH);
        const { receipt } = await anchorRecord(records.connect(patient), {
          patient: patient.address,
          category: LAB,
          bytes: FILE,
          uri,
        });
        expect(records.interface.parseLog(receipt.logs[0])?.args.uri).to.equal(uri);
      });
    });

    describe("retractRecord", function () {
      it("should retract with the keccak256 of the reason, never sending its text", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        const writer = records.connect(patient);
        const { recordId: id } = await anchorRecord(writer, {
          patient: patient.address,
          category: LAB,
          bytes: FILE,
          uri: URI,
        });
        const reason = "sample mislabelled: belongs to another patient";
        const { reasonHash, receipt } = await retractRecord(writer, id, reason);
        expect(reasonHash).to.equal(ethers.keccak256(text(reason)));
        const event = records.interface.parseLog(receipt.logs[0]);
        expect(event?.name).to.equal("RecordRetracted");
        expect(event?.args.reasonHash).to.equal(reasonHash);
        const tx = await ethers.provider.getTransaction(receipt.hash);
        expect(tx?.data.toLowerCase()).not.to.include(ethers.hexlify(text(reason)).slice(2));
        expect((await records.recordOf(id)).status).to.equal(RecordStatus.Retracted);
      });
    });

    describe("verifyFile", function () {
      it("should report a file that was never anchored", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        const result = await verifyFile(records, patient.address, FILE);
        expect(result).to.deep.equal({
          anchored: false,
          status: RecordStatus.None,
          anchoredAt: 0,
          recordId: recordId(patient.address, contentHash(FILE)),
          contentHash: contentHash(FILE),
        });
      });

      it("should report an anchored file with its status and time, then its retraction", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        const anchored = await anchorRecord(records.connect(patient), {
          patient: patient.address,
          category: LAB,
          bytes: FILE,
          uri: URI,
        });
        const block = await ethers.provider.getBlock(anchored.receipt.blockNumber);
        expect(await verifyFile(records, patient.address, FILE)).to.deep.equal({
          anchored: true,
          status: RecordStatus.Active,
          anchoredAt: block?.timestamp,
          recordId: anchored.recordId,
          contentHash: anchored.contentHash,
        });
        await retractRecord(records.connect(patient), anchored.recordId, "entered in error");
        expect((await verifyFile(records, patient.address, FILE)).status).to.equal(RecordStatus.Retracted);
      });

      it("should not report the file as anchored for another patient", async function () {
        const { records, patient, other } = await loadFixture(deployRegistries);
        await anchorRecord(records.connect(patient), { patient: patient.address, category: LAB, bytes: FILE, uri: "" });
        expect((await verifyFile(records, other.address, FILE)).anchored).to.be.false;
      });

      it("should report a one-byte change as not anchored", async function () {
        const { records, patient } = await loadFixture(deployRegistries);
        await anchorRecord(records.connect(patient), { patient: patient.address, category: LAB, bytes: FILE, uri: "" });
        const altered = Uint8Array.from(FILE);
        altered[altered.length - 2] ^= 1;
        expect((await verifyFile(records, patient.address, altered)).anchored).to.be.false;
      });
    });

    describe("anchorBatchItems and verifyBatchItemOnChain", function () {
      it("should anchor the batch root, return the contract's batch id and proofs the contract accepts", async function () {
        const { records, providers, registrar, lab } = await loadFixture(deployRegistries);
        // Only an active registered provider anchors batches.
        await providers.connect(registrar).register(lab.address, ethers.id("npi:lab"), Capability.TREATMENT, "");
        const list = items(12);
        const result = await anchorBatchItems(records.connect(lab), list, "ipfs://manifest");
        expect(result.root).to.equal(buildBatch(list).root);
        expect(result.batchId).to.equal(batchId(lab.address, result.root));
        expect(result.proofs).to.deep.equal(result.batch.proofs);
        const stored = await records.batchOf(result.batchId);
        expect(stored.root).to.equal(result.root);
        expect(stored.count).to.equal(12n);
        expect(stored.submitter).to.equal(lab.address);
        for (const i of [0, 5, 11]) {
          expect(await verifyBatchItemOnChain(records, result.batchId, result.proofs[i], list[i])).to.be.true;
        }
        const forged = { ...list[5], contentHash: contentHash(text("forged")) };
        expect(await verifyBatchItemOnChain(records, result.batchId, result.proofs[5], forged)).to.be.false;
      });

      it("should report false for a batch id that was never anchored", async function () {
        const { records, lab } = await loadFixture(deployRegistries);
        const list = items(3);
        const { root, proofs } = buildBatch(list);
        expect(await verifyBatchItemOnChain(records, batchId(lab.address, root), proofs[0], list[0])).to.be.false;
      });

      it("should refuse a URI over 512 bytes before sending anything", async function () {
        const { records, lab } = await loadFixture(deployRegistries);
        const nonce = await ethers.provider.getTransactionCount(lab.address);
        await expect(
          anchorBatchItems(records.connect(lab), items(2), "x".repeat(MAX_URI_LENGTH + 1)),
        ).to.be.rejectedWith(Error, /The URI is 513 bytes/);
        expect(await ethers.provider.getTransactionCount(lab.address)).to.equal(nonce);
      });
    });
  });
});
