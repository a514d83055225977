/**
 * One load-test worker process (forked by load.test.ts with ts-node): a patient with its own funded wallet that
 * submits its share of operations through the SDK (`connect(...)` from src/client.ts) over JSON-RPC, one after the
 * other, while the other workers do the same in parallel. It grants, revokes what it granted, anchors records, and
 * relays grants signed by a second, keyless patient of its own (the signed path, with that patient's per-key signature nonces).
 *
 * Protocol (IPC): the parent forks it with the configuration as JSON in argv[2]; it answers {type: "ready"} once
 * loaded, starts on {type: "go"}, and answers {type: "done", report} (or {type: "failed", error}).
 * Loaded by mocha as a test file too: it only runs when it is the main module.
 */
import { JsonRpcProvider, Wallet } from "ethers";

import { connect } from "../../src/client";
import type { DeploymentAddresses } from "../../src/deployment";

export interface WorkerConfig {
  index: number;
  url: string;
  chainId: number;
  deployment: DeploymentAddresses;
  /** The worker's funded wallet: the patient of its grants, revocations and anchors. */
  privateKey: string;
  /** A second patient that only signs (no ether): the worker relays its signed grants. */
  signerKey: string;
  operations: number;
  seed: number;
  grantees: string[];
  /** Every grant ends at this time (well after the run). */
  expiresAt: number;
}

export type OperationKind = "grant" | "revoke" | "anchor" | "signedGrant";

export interface OperationReport {
  kind: OperationKind;
  patient: string;
  grantee?: string;
  category?: string;
  purposes?: number;
  actions?: number;
  recordId?: string;
  contentHash?: string;
  txHash?: string;
  blockNumber?: number;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface WorkerReport {
  index: number;
  wallet: string;
  signer: string;
  operations: OperationReport[];
  startedAt: number;
  finishedAt: number;
}

export type ParentMessage = { type: "go" };
export type WorkerMessage =
  { type: "ready" } | { type: "done"; report: WorkerReport } | { type: "failed"; error: string };

const CATEGORIES = ["laboratory", "imaging", "medications", "allergies", "*"];
/** One operation may take this long before the worker reports it as failed and stops. */
const OPERATION_TIMEOUT_MS = 60_000;

/** mulberry32: a small deterministic PRNG, so a worker's operation mix depends only on (seed, index). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the worker's operations; every refusal is reported, not thrown. */
export async function runWorker(
  config: WorkerConfig,
  waitForGo: () => Promise<void> = async () => undefined,
): Promise<WorkerReport> {
  // cacheTimeout -1: ethers v6 caches identical reads for 250 ms by default, so a wallet sending transactions back to
  // back would read a stale pending nonce ("nonce too low").
  const provider = new JsonRpcProvider(config.url, config.chainId, {
    staticNetwork: true,
    batchMaxCount: 1,
    pollingInterval: 50,
    cacheTimeout: -1,
  });
  const wallet = new Wallet(config.privateKey, provider);
  const signer = new Wallet(config.signerKey);
  const client = connect(wallet, config.deployment);
  const rand = random(config.seed * 1_000 + config.index);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
  const mask = (bits: number) => 1 + Math.floor(rand() * ((1 << bits) - 1));
  const live: { grantee: string; category: string }[] = [];
  const operations: OperationReport[] = [];

  await waitForGo();
  const startedAt = Date.now();
  for (let i = 0; i < config.operations; i++) {
    const roll = rand();
    const kind: OperationKind =
      roll < 0.4 || (roll < 0.65 && live.length === 0)
        ? "grant"
        : roll < 0.65
          ? "revoke"
          : roll < 0.9
            ? "anchor"
            : "signedGrant";
    const started = Date.now();
    const report: OperationReport = { kind, patient: wallet.address, ok: false, ms: 0 };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${OPERATION_TIMEOUT_MS} ms`)), OPERATION_TIMEOUT_MS);
    });
    try {
      await Promise.race([timeout, perform()]);
      report.ok = true;
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
    } finally {
      clearTimeout(timer);
    }
    report.ms = Date.now() - started;
    operations.push(report);
    if (report.error?.startsWith("timed out")) break; // the wallet's nonce may now be in doubt: stop here

    async function perform(): Promise<void> {
      if (kind === "grant") {
        const grantee = pick(config.grantees);
        const category = pick(CATEGORIES);
        const purposes = mask(10);
        const actions = mask(5);
        const receipt = await client.grant({ grantee, category, purposes, actions, expiresAt: config.expiresAt });
        Object.assign(report, {
          grantee,
          category,
          purposes,
          actions,
          txHash: receipt.hash,
          blockNumber: receipt.blockNumber,
        });
        if (!live.some((k) => k.grantee === grantee && k.category === category)) live.push({ grantee, category });
      } else if (kind === "revoke") {
        const [key] = live.splice(Math.floor(rand() * live.length), 1);
        const receipt = await client.revoke(key.grantee, key.category);
        Object.assign(report, { ...key, txHash: receipt.hash, blockNumber: receipt.blockNumber });
      } else if (kind === "anchor") {
        const bytes = new TextEncoder().encode(
          `load test record: worker ${config.index}, operation ${i}, seed ${config.seed}`,
        );
        const { recordId, contentHash, receipt } = await client.anchor({
          patient: wallet.address,
          category: "laboratory",
          bytes,
          uri: `ipfs://load/${config.index}/${i}`,
        });
        Object.assign(report, {
          category: "laboratory",
          recordId,
          contentHash,
          txHash: receipt.hash,
          blockNumber: receipt.blockNumber,
        });
      } else {
        const grantee = pick(config.grantees);
        const category = pick(CATEGORIES);
        const purposes = mask(10);
        const actions = mask(5);
        const signed = await client.signGrant(
          { patient: signer.address, grantee, category, purposes, actions, expiresAt: config.expiresAt },
          { deadline: config.expiresAt, signer: config.signerKey },
        );
        const receipt = await client.submitSignedGrant(signed);
        Object.assign(report, {
          patient: signer.address,
          grantee,
          category,
          purposes,
          actions,
          txHash: receipt.hash,
          blockNumber: receipt.blockNumber,
        });
      }
    }
  }
  const finishedAt = Date.now();
  return { index: config.index, wallet: wallet.address, signer: signer.address, operations, startedAt, finishedAt };
}

/** Sends `message` to the parent; then, for a final message, exits (ethers' pollers would keep the process alive). */
function send(message: WorkerMessage, last = false): void {
  process.send?.(message, undefined, undefined, () => {
    if (last) process.exit(0);
  });
}

if (require.main === module) {
  const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
  const go = new Promise<void>((resolve) => process.on("message", (m: ParentMessage) => m.type === "go" && resolve()));
  runWorker(config, () => {
    send({ type: "ready" });
    return go;
  })
    .then((report) => send({ type: "done", report }, true))
    .catch((error: unknown) =>
      send({ type: "failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, true),
    );
}
