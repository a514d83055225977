/**
 * Record anchoring helpers: content fingerprints (SHA-256, and the digest inside an IPFS CID), record ids, Merkle
 * batches over (patient, category, contentHash), and thin wrappers around the RecordRegistry contract.
 *
 * The chain only ever sees fingerprints, ids and a URI: never a record's bytes, never a retraction reason's text.
 */
import {
  AbiCoder,
  concat,
  getAddress,
  getBytes,
  hexlify,
  isHexString,
  keccak256,
  sha256,
  toUtf8Bytes,
  ZeroHash,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
} from "ethers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
// multiformats is ESM-only. Under this repo's `moduleResolution: node` TypeScript finds its declarations through
// the package's `typesVersions` map (multiformats/cid -> dist/src/cid.d.ts), and at run time the CommonJS
// `require` that these imports compile to loads the ES module natively (Node >= 20.19 / 22.12).
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import * as raw from "multiformats/codecs/raw";

import type { RecordRegistry } from "../typechain-types";
import { MAX_URI_LENGTH, RecordStatus } from "./codes";

/** Bytes to fingerprint: raw bytes (a Uint8Array or Buffer) or 0x-prefixed hex data. */
export type Content = Uint8Array | string;

/** The multihash code of sha2-256, the only hash the registry's content fingerprints use. */
export const SHA2_256_CODE = 0x12;
/** The multicodec code of raw bytes, the codec of the CIDs {@link cidFor} makes. */
export const RAW_CODEC = raw.code;

/** Names of common multihash codes, for error messages. */
const MULTIHASH_NAMES: Readonly<Record<number, string>> = {
  0x00: "identity",
  0x11: "sha1",
  0x12: "sha2-256",
  0x13: "sha2-512",
  0x16: "sha3-256",
  0x1b: "keccak-256",
  0x1e: "blake3",
  0xb220: "blake2b-256",
};

const abi = AbiCoder.defaultAbiCoder();

/** The bytes of `content`, refusing strings that are not whole-byte 0x hex. */
function toBytes(content: Content): Uint8Array {
  if (typeof content === "string") {
    if (!isHexString(content, true)) {
      throw new Error(
        `Content given as a string must be 0x-prefixed hex data with whole bytes; for text use toUtf8Bytes(text)`,
      );
    }
    return getBytes(content);
  }
  return content;
}

/** The SHA-256 of `content` as a 0x-prefixed bytes32: the `contentHash` the registry anchors. */
export function contentHash(content: Content): string {
  return sha256(toBytes(content));
}

/**
 * The sha2-256 digest inside an IPFS CID (v1 in base32/base36/base58btc, or v0 "Qm..."; an `ipfs://` prefix is
 * accepted), as a 0x-prefixed bytes32.
 *
 * It equals {@link contentHash} of the file only for a raw-codec CID (such as {@link cidFor} makes, or
 * `ipfs add --cid-version 1 --raw-leaves` of a single-block file): for a dag-pb CID (every v0 "Qm..." CID) it is
 * the hash of the UnixFS node, not of the file's bytes.
 * @throws Error when `cid` is not a CID, or its multihash is not a full 32-byte sha2-256 digest.
 */
export function cidDigest(cid: string): string {
  const source = cid.startsWith("ipfs://") ? cid.slice("ipfs://".length) : cid;
  let parsed: CID;
  try {
    parsed = CID.parse(source);
  } catch (error) {
    throw new Error(`Invalid CID "${cid}": ${error instanceof Error ? error.message : String(error)}`);
  }
  const { code, digest } = parsed.multihash;
  if (code !== SHA2_256_CODE) {
    const name = MULTIHASH_NAMES[code] ?? "unknown";
    throw new Error(
      `Unsupported CID "${cid}": multihash code 0x${code.toString(16)} (${name}); only sha2-256 (0x12) is supported`,
    );
  }
  if (digest.length !== 32) {
    throw new Error(`Unsupported CID "${cid}": a truncated sha2-256 digest of ${digest.length} bytes`);
  }
  return hexlify(digest);
}

/** The CIDv1 (raw codec, sha2-256, base32 "bafk...") of `content`: `cidDigest(cidFor(b)) === contentHash(b)`. */
export function cidFor(content: Content): string {
  const digest = Digest.create(SHA2_256_CODE, getBytes(contentHash(content)));
  return CID.createV1(RAW_CODEC, digest).toString();
}

/** The id of `patient`'s record with fingerprint `hash`: `keccak256(abi.encode(patient, contentHash))`. */
export function recordId(patient: string, hash: string): string {
  return keccak256(abi.encode(["address", "bytes32"], [patient, hash]));
}

/** One record of a Merkle batch. `category` is a bytes32 id (see `categoryId`). */
export interface BatchItem {
  patient: string;
  category: string;
  contentHash: string;
}

/** A batch leaf's value, in the order the contract hashes it. */
export type BatchLeafValue = [patient: string, category: string, contentHash: string];

/** The leaf encoding of a batch: `(address patient, bytes32 category, bytes32 contentHash)`. */
export const BATCH_LEAF_ENCODING = ["address", "bytes32", "bytes32"];

/** A built batch: its root and size, the tree, and the proof of every item. */
export interface Batch {
  root: string;
  count: number;
  tree: StandardMerkleTree<BatchLeafValue>;
  /** The proof of each item, in the order the items were given. */
  proofs: string[][];
  /** The proof of `item`. @throws Error when the item is not in the batch. */
  proofOf(item: BatchItem): string[];
}

/** The largest batch the contract's `uint32 count` can describe. */
const MAX_BATCH_SIZE = 2 ** 32 - 1;

/** `item` as a leaf value, checking its fields. */
function leafValue(item: BatchItem): BatchLeafValue {
  for (const field of ["category", "contentHash"] as const) {
    if (!isHexString(item[field], 32)) throw new Error(`Batch item ${field} must be a bytes32, got "${item[field]}"`);
    if (item[field] === ZeroHash) throw new Error(`Batch item ${field} must not be zero`);
  }
  return [getAddress(item.patient), item.category, item.contentHash];
}

/**
 * The leaf of `item` as the contract computes it:
 * `keccak256(bytes.concat(keccak256(abi.encode(patient, category, contentHash))))`.
 */
export function batchLeaf(item: BatchItem): string {
  return keccak256(concat([keccak256(abi.encode(BATCH_LEAF_ENCODING, leafValue(item)))]));
}

/** Builds the OpenZeppelin StandardMerkleTree of `items` and the proof of each. */
export function buildBatch(items: BatchItem[]): Batch {
  if (items.length === 0) throw new Error("A batch must hold at least one record");
  if (items.length > MAX_BATCH_SIZE) throw new Error(`A batch holds at most ${MAX_BATCH_SIZE} records`);
  const tree = StandardMerkleTree.of<BatchLeafValue>(items.map(leafValue), BATCH_LEAF_ENCODING);
  const proofs = items.map((_, index) => tree.getProof(index));
  const indexOf = new Map<string, number>();
  items.forEach((item, index) => {
    const leaf = batchLeaf(item);
    if (!indexOf.has(leaf)) indexOf.set(leaf, index);
  });
  return {
    root: tree.root,
    count: items.length,
    tree,
    proofs,
    proofOf(item: BatchItem): string[] {
      const index = indexOf.get(batchLeaf(item));
      if (index === undefined) throw new Error(`Item ${JSON.stringify(item)} is not in the batch`);
      return [...proofs[index]];
    },
  };
}

/** The id the contract gives `submitter`'s batch of `root`: `uint256(keccak256(abi.encode(submitter, root)))`. */
export function batchId(submitter: string, root: string): bigint {
  return BigInt(keccak256(abi.encode(["address", "bytes32"], [submitter, root])));
}

/** Whether `proof` shows `item` is a leaf of the tree of `root`, checked off-chain. */
export function verifyBatchProof(root: string, proof: string[], item: BatchItem): boolean {
  return StandardMerkleTree.verify<BatchLeafValue>(root, BATCH_LEAF_ENCODING, leafValue(item), proof);
}

/** Refuses, before anything is sent, a URI the registry would refuse. */
function checkUri(uri: string): void {
  const length = toUtf8Bytes(uri).length;
  if (length > MAX_URI_LENGTH) {
    throw new Error(`The URI is ${length} bytes; the registry accepts at most ${MAX_URI_LENGTH}`);
  }
}

/** Waits for `tx` to be mined, refusing a missing receipt. */
async function mined(tx: ContractTransactionResponse): Promise<ContractTransactionReceipt> {
  const receipt = await tx.wait();
  if (receipt === null) throw new Error(`No receipt for transaction ${tx.hash}`);
  return receipt;
}

/** What to anchor: the record's bytes, or their `contentHash`, never both. */
export type AnchorContent = { bytes: Content; contentHash?: never } | { contentHash: string; bytes?: never };

/** The arguments of {@link anchorRecord}. `category` is a bytes32 id (see `categoryId`). */
export type AnchorRecordParams = AnchorContent & {
  patient: string;
  category: string;
  /** The id of the Active record of the same patient that this version replaces. */
  supersedes?: string;
  /** Where the bytes are kept (`ipfs://<cid>` or an opaque locator), at most 512 bytes. */
  uri: string;
};

/** What {@link anchorRecord} did. */
export interface AnchoredRecord {
  recordId: string;
  contentHash: string;
  receipt: ContractTransactionReceipt;
}

/** Anchors one record of `patient` with the signer `records` is connected to, and waits for it to be mined. */
export async function anchorRecord(records: RecordRegistry, params: AnchorRecordParams): Promise<AnchoredRecord> {
  if ((params.bytes === undefined) === (params.contentHash === undefined)) {
    throw new Error("Give either the record's bytes or its contentHash (exactly one)");
  }
  const hash = params.bytes !== undefined ? contentHash(params.bytes) : params.contentHash;
  checkUri(params.uri);
  const tx = await records.anchor(params.patient, params.category, hash, params.supersedes ?? ZeroHash, params.uri);
  return { recordId: recordId(params.patient, hash), contentHash: hash, receipt: await mined(tx) };
}

/** What {@link retractRecord} did. */
export interface RetractedRecord {
  reasonHash: string;
  receipt: ContractTransactionReceipt;
}

/**
 * Retracts `id` as entered in error. Only `keccak256(reason)` goes on-chain: keep the reason's text off-chain,
 * where whoever holds it can check it against the event's `reasonHash`.
 */
export async function retractRecord(
  records: RecordRegistry,
  recordId: string,
  reason: string,
): Promise<RetractedRecord> {
  const reasonHash = keccak256(toUtf8Bytes(reason));
  const tx = await records.retract(recordId, reasonHash);
  return { reasonHash, receipt: await mined(tx) };
}

/** What {@link verifyFile} found. */
export interface FileVerification {
  anchored: boolean;
  status: RecordStatus;
  /** Unix time in seconds (0 when not anchored). */
  anchoredAt: number;
  recordId: string;
  contentHash: string;
}

/** Whether the file `bytes` is anchored for `patient`, with its status and anchoring time. */
export async function verifyFile(records: RecordRegistry, patient: string, bytes: Content): Promise<FileVerification> {
  const hash = contentHash(bytes);
  const [anchored, status, anchoredAt] = await records.verify(patient, hash);
  return {
    anchored,
    status: Number(status) as RecordStatus,
    anchoredAt: Number(anchoredAt),
    recordId: recordId(patient, hash),
    contentHash: hash,
  };
}

/** What {@link anchorBatchItems} did. */
export interface AnchoredBatch {
  batchId: bigint;
  root: string;
  proofs: string[][];
  batch: Batch;
  receipt: ContractTransactionReceipt;
}

/** Builds the batch of `items`, anchors its root with the signer `records` is connected to, and waits for it. */
export async function anchorBatchItems(
  records: RecordRegistry,
  items: BatchItem[],
  uri: string,
): Promise<AnchoredBatch> {
  const batch = buildBatch(items);
  checkUri(uri);
  const tx = await records.anchorBatch(batch.root, batch.count, uri);
  const receipt = await mined(tx);
  // The id depends on the contract's msg.sender (which may be a smart account), so read it from the event.
  const address = (await records.getAddress()).toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const event = records.interface.parseLog(log);
    if (event?.name === "BatchAnchored" && event.args.root === batch.root) {
      return { batchId: event.args.batchId as bigint, root: batch.root, proofs: batch.proofs, batch, receipt };
    }
  }
  throw new Error(`No BatchAnchored event for root ${batch.root} in transaction ${receipt.hash}`);
}

/** Whether `proof` shows `item` is in the anchored batch `batchId`, checked by the contract (false if unknown). */
export async function verifyBatchItemOnChain(
  records: RecordRegistry,
  batchId: bigint,
  proof: string[],
  item: BatchItem,
): Promise<boolean> {
  return records.verifyBatchItem(batchId, proof, item.patient, item.category, item.contentHash);
}
