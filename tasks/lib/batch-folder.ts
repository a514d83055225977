/**
 * A folder anchored as one Merkle batch, and its proofs file: what record:batch writes before it sends the root,
 * what record:proofs rebuilds from the same folder, and what record:verify and record:retract-batch-item read.
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress, isAddress, isHexString } from "ethers";

import { contentHash } from "../../src/records";
import { UserError } from "../../scripts/lib/errors";
import { readBytesFile } from "./files";

/** One file of a batch and its proof. */
export interface BatchProofsItem {
  file: string;
  patient: string;
  category: string;
  contentHash: string;
  proof: string[];
}

/** The proofs file: everything needed to prove one file of the batch later. */
export interface BatchProofsFile {
  network: string;
  chainId: number;
  recordRegistry: string;
  /** Hex, 0x and 64 digits. */
  batchId: string;
  root: string;
  submitter: string;
  uri: string;
  /** "pending" when written before the root was sent, "anchored" once it is mined. */
  status: "pending" | "anchored";
  txHash: string | null;
  blockNumber: number | null;
  items: BatchProofsItem[];
}

/** The files of a folder (not sub-folders, hidden files skipped), sorted, as batch items of one patient and category. */
export function folderItems(
  dir: string,
  patient: string,
  category: string,
): { names: string[]; items: { patient: string; category: string; contentHash: string }[] } {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new UserError(`--dir ${dir} is not a folder`);
  const names = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
    .map((entry) => entry.name)
    .sort();
  if (names.length === 0) throw new UserError(`--dir ${dir} holds no files`);
  const items = names.map((name) => ({
    patient,
    category,
    contentHash: contentHash(readBytesFile(path.join(dir, name), "dir")),
  }));
  const seen = new Map<string, string>();
  for (const [i, item] of items.entries()) {
    const twin = seen.get(item.contentHash);
    if (twin) throw new UserError(`--dir: ${names[i]} has the same content as ${twin}; a batch holds each record once`);
    seen.set(item.contentHash, names[i]);
  }
  return { names, items };
}

/** Reads and checks a proofs file an option names. */
export function readProofsFile(file: string, option = "proofs"): BatchProofsFile {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(readBytesFile(file, option)));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`--${option} ${file} is not a proofs file written by record:batch (not JSON)`);
  }
  const proofs = value as Partial<BatchProofsFile> | null;
  const wrong = (what: string) =>
    new UserError(`--${option} ${file} is not a proofs file written by record:batch: ${what}`);
  if (typeof proofs !== "object" || proofs === null) throw wrong("expected a JSON object");
  if (typeof proofs.batchId !== "string" || !/^0x[0-9a-fA-F]{1,64}$/.test(proofs.batchId))
    throw wrong("no hex batchId");
  if (typeof proofs.root !== "string" || !isHexString(proofs.root, 32)) throw wrong("no root");
  if (typeof proofs.chainId !== "number") throw wrong("no chainId");
  if (typeof proofs.recordRegistry !== "string" || !isAddress(proofs.recordRegistry)) throw wrong("no recordRegistry");
  if (!Array.isArray(proofs.items)) throw wrong("no items");
  for (const item of proofs.items) {
    const ok =
      typeof item === "object" &&
      item !== null &&
      typeof item.file === "string" &&
      isAddress(item.patient) &&
      isHexString(item.category, 32) &&
      isHexString(item.contentHash, 32) &&
      Array.isArray(item.proof) &&
      item.proof.every((node: unknown) => typeof node === "string" && isHexString(node, 32));
    if (!ok) throw wrong("an item is malformed");
  }
  return { ...(proofs as BatchProofsFile), recordRegistry: getAddress(proofs.recordRegistry) };
}
