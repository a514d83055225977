/**
 * record:* tasks: anchor the fingerprint of a file (hashed locally: the file never leaves the machine), verify a
 * copy or an item of a batch, anchor a folder as one Merkle batch with a proof per file (providers only), rebuild
 * the proofs of an anchored batch, and retract one item of a batch (the patient or a delegate).
 */
import path from "node:path";
import { ZeroHash, getAddress, isHexString } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import { RecordStatus } from "../src/codes";
import { formatReceipt, formatTime } from "../scripts/lib/format";
import {
  UserError,
  cliAction,
  cliTask,
  formatBatchId,
  parseAddress,
  parseBatchId,
  parseCategory,
  receiptJson,
  required,
  taskContext,
  type CommonArgs,
  type Output,
  type TaskContext,
  FROM_HELP,
} from "./cli";
import { folderItems, readProofsFile, type BatchProofsFile } from "./lib/batch-folder";
import { checkOutputFile, readBytesFile, writeOutputFile } from "./lib/files";
import { toJson } from "./lib/output";

export type { BatchProofsFile };

const FROM = FROM_HELP;

interface AnchorArgs extends CommonArgs {
  from?: string;
  file?: string;
  patient?: string;
  category?: string;
  uri?: string;
  supersedes?: string;
}

cliTask("record:anchor", "Anchors the SHA-256 of a file for a patient (hashed locally; the file is not sent)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("file", "The record's file (required)")
  .addOptionalParam("patient", "The patient (default: the --from account)")
  .addOptionalParam("category", `The record's category code, e.g. "laboratory" (required)`)
  .addOptionalParam("uri", "Where the file is kept (default: ipfs://<CIDv1 of the file>)")
  .addOptionalParam("supersedes", "The record id of the version this file corrects")
  .setAction(
    cliAction(async (args: AnchorArgs, hre, out) => {
      const file = required(args.file, "file", "give the record's file");
      const category = parseCategory(args.category);
      const bytes = readBytesFile(file, "file");
      const supersedes = args.supersedes?.trim() ? args.supersedes.trim() : undefined;
      if (supersedes && !isHexString(supersedes, 32)) {
        throw new UserError(`--supersedes must be a record id (0x followed by 64 hex digits), got "${supersedes}"`);
      }
      const { cidFor } = await import("../src/records");
      const uri = args.uri?.trim() || `ipfs://${cidFor(bytes)}`;
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const patient = args.patient?.trim() ? parseAddress(args.patient, "patient") : (from as string);
      const anchored = await client.anchor({ patient, category, bytes, uri, supersedes });
      out.say(`Anchored ${path.basename(file)} for patient ${patient} in ${category}`);
      out.say(`  record id    ${anchored.recordId}`);
      out.say(`  content hash ${anchored.contentHash} (SHA-256)`);
      out.say(`  uri          ${uri}`);
      out.say(`  ${formatReceipt(anchored.receipt)}`);
      out.result({
        patient,
        category,
        recordId: anchored.recordId,
        contentHash: anchored.contentHash,
        uri,
        ...receiptJson(anchored.receipt),
      });
    }),
  );

interface VerifyArgs extends CommonArgs {
  file?: string;
  patient?: string;
  proofs?: string;
  item?: string;
}

/** Checks that a proofs file is for the network the task runs on. */
function checkProofsNetwork(proofs: BatchProofsFile, context: TaskContext, file: string): void {
  const { deployment } = context;
  if (proofs.chainId !== deployment.chainId || proofs.recordRegistry !== deployment.recordRegistry) {
    throw new UserError(
      `--proofs ${file} is for the record registry ${proofs.recordRegistry} on chain ${proofs.chainId}, not ` +
        `${deployment.recordRegistry} on chain ${deployment.chainId}: run with the --network it was anchored on`,
    );
  }
}

cliTask("record:verify", "Checks that a file is exactly what was anchored for a patient, or an item of a batch")
  .addOptionalParam("file", "The copy to check (required, unless --proofs with --item)")
  .addOptionalParam("patient", "The patient (required without --proofs)")
  .addOptionalParam("proofs", "A proofs file written by record:batch or record:proofs: check an item of that batch")
  .addOptionalParam("item", "With --proofs: the item's file name (default: the item whose content is --file)")
  .addFlag("exitCode", "Exit with 1 when the answer is no (2 when the check could not be made)")
  .setAction(
    cliAction(async (args: VerifyArgs, hre, out) => {
      if (args.proofs?.trim()) return verifyBatchItem(args, hre, out);
      const file = required(args.file, "file", "give the file to check");
      const patient = parseAddress(args.patient, "patient");
      const bytes = readBytesFile(file, "file");
      const { client } = await taskContext(hre, { sign: false });
      const result = await client.verifyFile(patient, bytes);
      out.result({ verified: result.anchored, patient, contentHash: result.contentHash });
      if (!result.anchored) {
        out.say(`anchored: no (content hash ${result.contentHash} is not anchored for ${patient})`);
        if (args.exitCode) process.exitCode = 1;
        return;
      }
      out.say(`anchored: yes, ${RecordStatus[result.status]}, since ${formatTime(result.anchoredAt)}`);
      out.say(`  record id    ${result.recordId}`);
      out.say(`  content hash ${result.contentHash}`);
      out.result({
        recordId: result.recordId,
        status: RecordStatus[result.status],
        anchoredAt: result.anchoredAt,
      });
    }),
  );

async function verifyBatchItem(args: VerifyArgs, hre: HardhatRuntimeEnvironment, out: Output) {
  const proofsPath = (args.proofs as string).trim();
  const proofs = readProofsFile(proofsPath);
  const { contentHash } = await import("../src/records");
  let item = undefined as BatchProofsFile["items"][number] | undefined;
  let hash: string | undefined;
  if (args.item?.trim()) {
    item = proofs.items.find((entry) => entry.file === args.item?.trim());
    if (!item) throw new UserError(`--item ${args.item}: ${proofsPath} has no item for that file name`);
  }
  if (args.file?.trim()) {
    hash = contentHash(readBytesFile(args.file.trim(), "file"));
    if (!item) item = proofs.items.find((entry) => entry.contentHash === hash);
  } else if (!item) {
    throw new UserError(`Missing --item or --file: name the item of ${proofsPath} to check`);
  }
  const context = await taskContext(hre, { sign: false });
  checkProofsNetwork(proofs, context, proofsPath);
  const batchId = BigInt(proofs.batchId);
  const name = item?.file ?? path.basename(args.file ?? "");
  if (!item || (hash !== undefined && hash !== item.contentHash)) {
    out.say(`in batch: no (${name}'s content ${hash} is not the content of an item of batch ${proofs.batchId})`);
    out.result({
      verified: false,
      batchId: proofs.batchId,
      item: name,
      contentHash: hash ?? null,
      reason: "not-in-batch",
    });
    if (args.exitCode) process.exitCode = 1;
    return;
  }
  const result = await context.client.verifyBatchItem(batchId, item.proof, item);
  const reason = result.valid ? "valid" : result.retracted ? "retracted" : "not-anchored";
  out.say(
    `in batch: ${result.valid ? "yes" : "no"}, ${item.file} of batch ${proofs.batchId}` +
      (result.valid ? "" : result.retracted ? " (retracted by the patient or a delegate)" : " (not on this chain)"),
  );
  out.say(
    `  submitter ${result.submitter}: ${result.submitterIsActiveProvider ? "an active registered provider" : "NOT an active registered provider"}`,
  );
  out.result({
    verified: result.valid,
    reason,
    batchId: proofs.batchId,
    item: item.file,
    contentHash: item.contentHash,
    submitter: result.submitter,
    submitterIsActiveProvider: result.submitterIsActiveProvider,
  });
  if (!result.valid && args.exitCode) process.exitCode = 1;
}

interface BatchArgs extends CommonArgs {
  from?: string;
  dir?: string;
  patient?: string;
  category?: string;
  uri?: string;
  out?: string;
  force?: boolean;
}

/** `<dir>.proofs.json` next to the folder. */
function defaultProofsPath(dir: string): string {
  return `${path.resolve(dir).replace(/[\\/]+$/, "")}.proofs.json`;
}

cliTask(
  "record:batch",
  "Anchors every file of a folder for a patient and category as one Merkle batch (a provider, --from)",
)
  .addOptionalParam("from", FROM)
  .addOptionalParam("dir", "The folder (its files, not sub-folders; hidden files skipped) (required)")
  .addOptionalParam("patient", "The patient (default: the --from account)")
  .addOptionalParam("category", `The records' category code, e.g. "laboratory" (required)`)
  .addOptionalParam("uri", "Where the batch is kept (optional, emitted only)", "")
  .addOptionalParam("out", "The proofs JSON file (default: <dir>.proofs.json next to the folder); kept unless --force")
  .addFlag("force", "Replace --out if it exists")
  .setAction(
    cliAction(async (args: BatchArgs, hre, out) => {
      const dir = path.resolve(required(args.dir, "dir", "give the folder of files to anchor"));
      const category = parseCategory(args.category);
      const file = checkOutputFile(args.out?.trim() || defaultProofsPath(dir), "out", Boolean(args.force));

      const { client, deployment, from } = await taskContext(hre, { from: args.from, sign: true });
      const submitter = getAddress(from as string);
      const patient = args.patient?.trim() ? parseAddress(args.patient, "patient") : submitter;
      const { names, items } = folderItems(dir, patient, client.dataCategoryIdOf(category));
      const { buildBatch, batchId: batchIdOf } = await import("../src/records");
      const batch = buildBatch(items);
      const id = batchIdOf(submitter, batch.root);
      const existing = await client.records.batchOf(id);
      if (existing.root !== ZeroHash) {
        throw new UserError(
          `These files are already anchored by ${submitter} as batch ${formatBatchId(id)}: rebuild its proofs with ` +
            `record:proofs --dir ${args.dir} --patient ${patient} --category ${category} --submitter ${submitter}`,
        );
      }
      const proofs: BatchProofsFile = {
        network: deployment.network,
        chainId: deployment.chainId,
        recordRegistry: deployment.recordRegistry,
        batchId: formatBatchId(id),
        root: batch.root,
        submitter,
        uri: args.uri ?? "",
        status: "pending",
        txHash: null,
        blockNumber: null,
        items: items.map((item, i) => ({ file: names[i], ...item, proof: batch.proofs[i] })),
      };
      // The proofs are on disk before the root is sent: a paid batch never loses them.
      writeOutputFile(file, `${toJson(proofs)}\n`);
      out.say(`Proofs of ${items.length} file(s) written to ${file.path}; sending the root`);
      const anchored = await client.anchorBatch(items, proofs.uri);
      if (anchored.batchId !== id) {
        throw new UserError(`The registry gave batch id ${formatBatchId(anchored.batchId)}, not ${proofs.batchId}`);
      }
      const final = { ...proofs, status: "anchored" as const, txHash: anchored.receipt.hash };
      writeOutputFile({ ...file, force: true }, `${toJson({ ...final, blockNumber: anchored.receipt.blockNumber })}\n`);
      out.say(`Anchored ${items.length} file(s) of ${dir} for patient ${patient} in ${category} as one batch`);
      out.say(`  batch id ${proofs.batchId}`);
      out.say(`  root     ${batch.root}`);
      out.say(`  ${formatReceipt(anchored.receipt)}`);
      out.result({
        batchId: proofs.batchId,
        root: batch.root,
        count: items.length,
        proofsFile: file.path,
        ...receiptJson(anchored.receipt),
      });
    }),
  );

interface ProofsArgs extends CommonArgs {
  dir?: string;
  patient?: string;
  category?: string;
  submitter?: string;
  out?: string;
  force?: boolean;
}

cliTask("record:proofs", "Rebuilds the proofs file of an anchored batch from the same folder (read-only)")
  .addOptionalParam("dir", "The folder that was anchored (required)")
  .addOptionalParam("patient", "The patient of the batch (required)")
  .addOptionalParam("category", `The records' category code, e.g. "laboratory" (required)`)
  .addOptionalParam("submitter", "The account that anchored the batch (required)")
  .addOptionalParam("out", "The proofs JSON file (default: <dir>.proofs.json next to the folder); kept unless --force")
  .addFlag("force", "Replace --out if it exists")
  .setAction(
    cliAction(async (args: ProofsArgs, hre, out) => {
      const dir = path.resolve(required(args.dir, "dir", "give the folder that was anchored"));
      const category = parseCategory(args.category);
      const patient = parseAddress(args.patient, "patient");
      const submitter = parseAddress(args.submitter, "submitter");
      const file = checkOutputFile(args.out?.trim() || defaultProofsPath(dir), "out", Boolean(args.force));
      const { client, deployment } = await taskContext(hre, { sign: false });
      const { names, items } = folderItems(dir, patient, client.dataCategoryIdOf(category));
      const { buildBatch, batchId: batchIdOf } = await import("../src/records");
      const batch = buildBatch(items);
      const id = batchIdOf(submitter, batch.root);
      const stored = await client.records.batchOf(id);
      if (stored.root === ZeroHash) {
        throw new UserError(
          `No batch of these ${items.length} file(s) by ${submitter} is anchored (it would be ${formatBatchId(id)}): ` +
            "check --dir (the same files, unchanged), --patient, --category and --submitter",
        );
      }
      const logs = await client.records.queryFilter(
        client.records.filters.BatchAnchored(id),
        deployment.deploymentBlock,
        "latest",
      );
      const proofs: BatchProofsFile = {
        network: deployment.network,
        chainId: deployment.chainId,
        recordRegistry: deployment.recordRegistry,
        batchId: formatBatchId(id),
        root: batch.root,
        submitter,
        uri: logs[0]?.args.uri ?? "",
        status: "anchored",
        txHash: logs[0]?.transactionHash ?? null,
        blockNumber: logs[0]?.blockNumber ?? null,
        items: items.map((item, i) => ({ file: names[i], ...item, proof: batch.proofs[i] })),
      };
      writeOutputFile(file, `${toJson(proofs)}\n`);
      out.say(`Rebuilt the proofs of batch ${proofs.batchId} (${items.length} file(s)) into ${file.path}`);
      out.say(
        `  anchored at ${formatTime(Number(stored.anchoredAt))}${proofs.txHash ? ` in tx ${proofs.txHash}` : ""}`,
      );
      out.result({ batchId: proofs.batchId, root: batch.root, count: items.length, proofsFile: file.path });
    }),
  );

interface RetractItemArgs extends CommonArgs {
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
    const file = args.proofs.trim();
    const proofs = readProofsFile(file);
    const name = required(args.item, "item", "give the file name of the item in the proofs file");
    const found = proofs.items.find((entry) => entry.file === name);
    if (!found) throw new UserError(`--item ${name}: ${file} has no item for that file name`);
    return {
      batchId: BigInt(proofs.batchId),
      item: { patient: found.patient, category: found.category, contentHash: found.contentHash },
    };
  }
  const batchId = parseBatchId(args.batchId);
  const contentHash = required(args.contentHash, "content-hash", "give the item's SHA-256 (0x + 64 hex digits)");
  if (!isHexString(contentHash, 32)) throw new UserError(`--content-hash must be a bytes32, got "${contentHash}"`);
  return {
    batchId,
    item: { patient: parseAddress(args.patient, "patient"), category: parseCategory(args.category), contentHash },
  };
}

cliTask("record:retract-batch-item", "Retracts one item of a batch, as its patient or a live delegate (--from)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("proofs", "The proofs file written by record:batch (or give --batch-id and the item's values)")
  .addOptionalParam("item", "With --proofs: the file name of the item")
  .addOptionalParam("batchId", "The batch id, in hex (without --proofs)")
  .addOptionalParam("patient", "The patient the item names (without --proofs)")
  .addOptionalParam("category", "The item's category code or id (without --proofs)")
  .addOptionalParam("contentHash", "The item's SHA-256 (without --proofs)")
  .addOptionalParam("reason", "Why; only its hash goes on-chain (required)")
  .setAction(
    cliAction(async (args: RetractItemArgs, hre, out) => {
      const { batchId, item } = batchItemOf(args);
      const reason = required(args.reason, "reason", "say why the item is retracted (only its hash is sent)");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.retractBatchItem(batchId, item, reason);
      const id = formatBatchId(batchId);
      out.say(`${from} retracted the item ${item.contentHash} of patient ${item.patient} from batch ${id}`);
      out.say(`  it no longer verifies; the batch's other items are unchanged`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ batchId: id, ...item, by: from, ...receiptJson(receipt) });
    }),
  );
