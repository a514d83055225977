/**
 * record:* tasks: anchor the fingerprint of a file (hashed locally: the file never leaves the machine), verify a
 * copy, anchor a folder as one Merkle batch with a proof per file (providers only), and retract one item of a batch
 * (the patient or a delegate).
 */
import fs from "node:fs";
import path from "node:path";
import { task } from "hardhat/config";
import { getAddress, isHexString } from "ethers";

import { RecordStatus } from "../src/codes";
import { formatReceipt, formatTime } from "../scripts/lib/format";
import { UserError, cliAction, parseAddress, parseCategory, required, taskContext } from "./cli";

const FROM = "The account that signs: an index into the network's accounts or one of their addresses (default 0)";

function readFile(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : (error as Error).message;
    throw new UserError(`Cannot read ${file}: ${reason}`);
  }
}

interface AnchorArgs {
  from?: string;
  file?: string;
  patient?: string;
  category?: string;
  uri?: string;
  supersedes?: string;
}

task("record:anchor", "Anchors the SHA-256 of a file for a patient (hashed locally; the file is not sent)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("file", "The record's file (required)")
  .addOptionalParam("patient", "The patient (default: the --from account)")
  .addOptionalParam("category", `The record's category code, e.g. "laboratory" (required)`)
  .addOptionalParam("uri", "Where the file is kept (default: ipfs://<CIDv1 of the file>)")
  .addOptionalParam("supersedes", "The record id of the version this file corrects")
  .setAction(
    cliAction(async (args: AnchorArgs, hre) => {
      const file = required(args.file, "file", "give the record's file");
      const category = parseCategory(args.category);
      const bytes = readFile(file);
      const { cidFor } = await import("../src/records");
      const uri = args.uri?.trim() || `ipfs://${cidFor(bytes)}`;
      const supersedes = args.supersedes?.trim() ? args.supersedes.trim() : undefined;
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const patient = args.patient?.trim() ? parseAddress(args.patient, "patient") : (from as string);
      const anchored = await client.anchor({ patient, category, bytes, uri, supersedes });
      console.log(`Anchored ${path.basename(file)} for patient ${patient} in ${category}`);
      console.log(`  record id    ${anchored.recordId}`);
      console.log(`  content hash ${anchored.contentHash} (SHA-256)`);
      console.log(`  uri          ${uri}`);
      console.log(`  ${formatReceipt(anchored.receipt)}`);
    }),
  );

task("record:verify", "Checks that a file is exactly what was anchored for a patient")
  .addOptionalParam("file", "The copy to check (required)")
  .addOptionalParam("patient", "The patient (required)")
  .setAction(
    cliAction(async (args: { file?: string; patient?: string }, hre) => {
      const file = required(args.file, "file", "give the file to check");
      const patient = parseAddress(args.patient, "patient");
      const bytes = readFile(file);
      const { client } = await taskContext(hre, { sign: false });
      const result = await client.verifyFile(patient, bytes);
      if (!result.anchored) {
        console.log(`anchored: no (content hash ${result.contentHash} is not anchored for ${patient})`);
        process.exitCode = 2;
        return;
      }
      console.log(`anchored: yes, ${RecordStatus[result.status]}, since ${formatTime(result.anchoredAt)}`);
      console.log(`  record id    ${result.recordId}`);
      console.log(`  content hash ${result.contentHash}`);
    }),
  );

interface BatchArgs {
  from?: string;
  dir?: string;
  patient?: string;
  category?: string;
  uri?: string;
  out?: string;
}

/** The proofs file record:batch writes: everything needed to prove one file of the batch later. */
export interface BatchProofsFile {
  network: string;
  chainId: number;
  recordRegistry: string;
  batchId: string;
  root: string;
  submitter: string;
  uri: string;
  txHash: string;
  items: { file: string; patient: string; category: string; contentHash: string; proof: string[] }[];
}

task(
  "record:batch",
  "Anchors every file of a folder for a patient and category as one Merkle batch (a provider, --from)",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("dir", "The folder (its files, not sub-folders; hidden files skipped) (required)")
  .addOptionalParam("patient", "The patient (default: the --from account)")
  .addOptionalParam("category", `The records' category code, e.g. "laboratory" (required)`)
  .addOptionalParam("uri", "Where the batch is kept (optional, emitted only)", "")
  .addOptionalParam("out", "The proofs JSON file (default: <dir>.proofs.json next to the folder)")
  .setAction(
    cliAction(async (args: BatchArgs, hre) => {
      const dir = path.resolve(required(args.dir, "dir", "give the folder of files to anchor"));
      const category = parseCategory(args.category);
      if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir} is not a folder`);
      const names = fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
        .map((entry) => entry.name)
        .sort();
      if (names.length === 0) throw new UserError(`No files in ${dir}`);
      const out = path.resolve(args.out?.trim() || `${dir.replace(/[\\/]+$/, "")}.proofs.json`);

      const { client, deployment, from } = await taskContext(hre, { from: args.from, sign: true });
      const patient = args.patient?.trim() ? parseAddress(args.patient, "patient") : (from as string);
      const { contentHash } = await import("../src/records");
      const id = client.categoryIdOf(category);
      const items = names.map((name) => ({
        patient,
        category: id,
        contentHash: contentHash(readFile(path.join(dir, name))),
      }));
      const seen = new Set<string>();
      for (const [i, item] of items.entries()) {
        if (seen.has(item.contentHash))
          throw new UserError(`${names[i]} has the same content as another file of ${dir}`);
        seen.add(item.contentHash);
      }
      const uri = args.uri ?? "";
      const batch = await client.anchorBatch(items, uri);
      const proofs: BatchProofsFile = {
        network: deployment.network,
        chainId: deployment.chainId,
        recordRegistry: deployment.recordRegistry,
        batchId: batch.batchId.toString(),
        root: batch.root,
        submitter: getAddress(from as string),
        uri,
        txHash: batch.receipt.hash,
        items: items.map((item, i) => ({ file: names[i], ...item, proof: batch.proofs[i] })),
      };
      fs.writeFileSync(out, `${JSON.stringify(proofs, null, 2)}\n`);
      console.log(`Anchored ${items.length} file(s) of ${dir} for patient ${patient} in ${category} as one batch`);
      console.log(`  batch id ${proofs.batchId}`);
      console.log(`  root     ${batch.root}`);
      console.log(`  ${formatReceipt(batch.receipt)}`);
      console.log(`Proofs written to ${out}`);
    }),
  );

interface RetractItemArgs {
  from?: string;
  proofs?: string;
  item?: string;
  batchId?: string;
  patient?: string;
  category?: string;
  contentHash?: string;
  reason?: string;
}

/** The batch id and item named by the options: a proofs file and a file name in it, or the four values. */
function batchItemOf(args: RetractItemArgs): {
  batchId: bigint;
  item: { patient: string; category: string; contentHash: string };
} {
  if (args.proofs?.trim()) {
    const file = path.resolve(args.proofs.trim());
    const name = required(args.item, "item", "give the file name of the item in the proofs file");
    let proofs: BatchProofsFile;
    try {
      proofs = JSON.parse(new TextDecoder().decode(readFile(file))) as BatchProofsFile;
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(`${file} is not a proofs file written by record:batch (not JSON)`);
    }
    const found = Array.isArray(proofs.items) ? proofs.items.find((entry) => entry.file === name) : undefined;
    if (!found) throw new UserError(`${file} has no item for the file "${name}"`);
    return {
      batchId: BigInt(proofs.batchId),
      item: { patient: found.patient, category: found.category, contentHash: found.contentHash },
    };
  }
  const batchText = required(args.batchId, "batch-id", "give the batch id, or --proofs and --item");
  if (!/^\d+$/.test(batchText)) throw new UserError(`--batch-id must be a decimal number, got "${batchText}"`);
  const contentHash = required(args.contentHash, "content-hash", "give the item's SHA-256 (0x + 64 hex digits)");
  if (!isHexString(contentHash, 32)) throw new UserError(`--content-hash must be a bytes32, got "${contentHash}"`);
  return {
    batchId: BigInt(batchText),
    item: { patient: parseAddress(args.patient, "patient"), category: parseCategory(args.category), contentHash },
  };
}

task("record:retract-batch-item", "Retracts one item of a batch, as its patient or a live delegate (--from)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("proofs", "The proofs file written by record:batch (or give --batch-id and the item's values)")
  .addOptionalParam("item", "With --proofs: the file name of the item")
  .addOptionalParam("batchId", "The batch id (without --proofs)")
  .addOptionalParam("patient", "The patient the item names (without --proofs)")
  .addOptionalParam("category", "The item's category code or id (without --proofs)")
  .addOptionalParam("contentHash", "The item's SHA-256 (without --proofs)")
  .addOptionalParam("reason", "Why; only its hash goes on-chain (required)")
  .setAction(
    cliAction(async (args: RetractItemArgs, hre) => {
      const { batchId, item } = batchItemOf(args);
      const reason = required(args.reason, "reason", "say why the item is retracted (only its hash is sent)");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.retractBatchItem(batchId, item, reason);
      console.log(`${from} retracted the item ${item.contentHash} of patient ${item.patient} from batch ${batchId}`);
      console.log(`  it no longer verifies; the batch's other items are unchanged`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );
