/**
 * Load over real JSON-RPC: a Hardhat node (and, with LOAD=full, an Anvil node) on a free loopback port, the
 * registries deployed to it, and W worker processes (worker.ts, forked with ts-node) submitting N operations in
 * total through the SDK at the same time. Afterwards every patient's consents are rebuilt from the events (the
 * SDK's history) and compared with consentOf for every key, every record with recordOf, and every wallet's
 * transaction nonces must be contiguous. Prints the throughput.
 *
 * `npm test`: 100 operations, 5 workers, Hardhat node. `npm run test:load` (LOAD=full): 1,000 operations,
 * 20 workers, Hardhat node and Anvil. Bounded: a hard timeout kills the workers and the nodes whatever happens.
 */
import { expect } from "chai";
import { fork, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet, getAddress, id, parseEther } from "ethers";

import { ConsentRegistry__factory, ProviderRegistry__factory, RecordRegistry__factory } from "../../typechain-types";
import { connect } from "../../src/client";
import { Capability, categoryId, ConsentStatus, Decision, RecordStatus } from "../../src/codes";
import type { DeploymentAddresses } from "../../src/deployment";
import { anvilDevKey, freePort, rpc, startAnvil } from "../helpers/anvil";
import type { OperationReport, WorkerConfig, WorkerMessage, WorkerReport } from "./worker";

const FULL = process.env.LOAD === "full";
const OPERATIONS = Number(process.env.LOAD_OPS ?? (FULL ? 1_000 : 100));
const WORKERS = Number(process.env.LOAD_WORKERS ?? (FULL ? 20 : 5));
const NODES = (process.env.LOAD_NODES ?? (FULL ? "hardhat,anvil" : "hardhat")).split(",") as ("hardhat" | "anvil")[];
/** Hard limit per node, startup to verification included. */
const HARD_TIMEOUT_MS = FULL ? 600_000 : 90_000;
const SEED = Number(process.env.LOAD_SEED ?? 7);
const ROOT = path.resolve(__dirname, "..", "..");

interface Node {
  url: string;
  stop(): Promise<void>;
}

/** Starts `npx hardhat node` on a free loopback port and waits until it answers. */
async function startHardhatNode(): Promise<Node> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [require.resolve("hardhat/internal/cli/cli.js"), "node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  const stop = () => killProcess(child);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited: ${stderr}`);
    try {
      await rpc(url, "eth_chainId");
      return { url, stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`hardhat node did not answer on ${url} within 60 s: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** SIGTERM, then SIGKILL after 2 s; resolves when the process is gone. */
async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
  await gone;
  clearTimeout(timer);
}

/** Deploys the registries with dev account 0 and registers three providers; returns the deployment and grantees. */
async function deploy(url: string) {
  const provider = new JsonRpcProvider(url, undefined, { batchMaxCount: 1, pollingInterval: 50, cacheTimeout: -1 });
  const deployer = new NonceManager(new Wallet(anvilDevKey(0), provider));
  const address = await deployer.getAddress();
  const deploymentBlock = await provider.getBlockNumber();
  const providers = await (await new ProviderRegistry__factory(deployer).deploy(address, address)).waitForDeployment();
  const consents = await (
    await new ConsentRegistry__factory(deployer).deploy(await providers.getAddress())
  ).waitForDeployment();
  const records = await (
    await new RecordRegistry__factory(deployer).deploy(await consents.getAddress())
  ).waitForDeployment();
  const registered = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()].map((w) => w.address);
  const plain = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()].map((w) => w.address);
  for (const [i, p] of registered.entries()) {
    await (await providers.register(p, id(`npi:load-${i}`), Capability.TREATMENT, "")).wait();
  }
  const { chainId } = await provider.getNetwork();
  const deployment: DeploymentAddresses = {
    providerRegistry: await providers.getAddress(),
    consentRegistry: await consents.getAddress(),
    recordRegistry: await records.getAddress(),
    deploymentBlock,
    chainId: Number(chainId),
  };
  return { provider, deployer, deployment, grantees: [...registered, ...plain], chainId: Number(chainId) };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Runs `tasks` with at most `limit` in flight. */
async function pooled<T>(tasks: (() => Promise<T>)[], limit = 16): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

describe(`Load over JSON-RPC (${OPERATIONS} operations from ${WORKERS} worker processes${FULL ? ", LOAD=full" : ""})`, function () {
  this.timeout(HARD_TIMEOUT_MS + 30_000);

  for (const kind of NODES) {
    describe(`on a ${kind === "hardhat" ? "Hardhat" : "Anvil"} node`, function () {
      let node: Node | undefined;
      const workers: ChildProcess[] = [];

      after(async function () {
        await Promise.all(workers.map((w) => killProcess(w)));
        await node?.stop();
      });

      it("should apply every operation with nothing lost and contiguous nonces, and the events should rebuild every consent and record", async function () {
        const abort = new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`load test on ${kind} exceeded ${HARD_TIMEOUT_MS} ms`)),
            HARD_TIMEOUT_MS,
          ).unref(),
        );
        await Promise.race([abort, run()]);
      });

      async function run(): Promise<void> {
        const bootStarted = Date.now();
        node = kind === "hardhat" ? await startHardhatNode() : await startAnvil();
        const url = node.url;
        expect(new URL(url).hostname).to.equal("127.0.0.1");
        const { provider, deployer, deployment, grantees, chainId } = await deploy(url);

        // Wallets: a funded patient per worker and a keyless signing patient per worker.
        const keys = Array.from({ length: WORKERS }, () => ({
          wallet: Wallet.createRandom(),
          signer: Wallet.createRandom(),
        }));
        // One after the other: an automining Hardhat node refuses a nonce that arrives ahead of its predecessor.
        for (const k of keys)
          await (await deployer.sendTransaction({ to: k.wallet.address, value: parseEther("10") })).wait();
        const expiresAt = (await provider.getBlock("latest"))!.timestamp + 365 * 24 * 3600;

        // Fork the workers; each loads the SDK with ts-node and says "ready".
        const share = (i: number) => Math.floor(OPERATIONS / WORKERS) + (i < OPERATIONS % WORKERS ? 1 : 0);
        const reports: WorkerReport[] = [];
        const ready: Promise<void>[] = [];
        const done: Promise<void>[] = [];
        for (let index = 0; index < WORKERS; index++) {
          const config: WorkerConfig = {
            index,
            url,
            chainId,
            deployment,
            privateKey: keys[index].wallet.privateKey,
            signerKey: keys[index].signer.privateKey,
            operations: share(index),
            seed: SEED,
            grantees,
            expiresAt,
          };
          const child = fork(path.join(__dirname, "worker.ts"), [JSON.stringify(config)], {
            cwd: ROOT,
            execArgv: ["-r", "ts-node/register/transpile-only"],
            stdio: ["ignore", "inherit", "inherit", "ipc"],
          });
          workers.push(child);
          let onReady: () => void = () => undefined;
          ready.push(new Promise<void>((resolve) => (onReady = resolve)));
          done.push(
            new Promise<void>((resolve, reject) => {
              child.on("message", (message: WorkerMessage) => {
                if (message.type === "ready") onReady();
                if (message.type === "done") {
                  reports.push(message.report);
                  resolve();
                }
                if (message.type === "failed") reject(new Error(`worker ${index} failed: ${message.error}`));
              });
              child.once("exit", (code) => reject(new Error(`worker ${index} exited (code ${code}) before reporting`)));
            }),
          );
        }
        await Promise.all(ready);
        const bootSeconds = (Date.now() - bootStarted) / 1000;
        const started = Date.now();
        // Anvil answers eth_sendRawTransaction before its automined block is stored; ethers' tx.wait() that misses
        // the receipt then waits for the next block, which an idle chain never makes. A live chain keeps making
        // blocks: so does this heartbeat (empty blocks, one a second), on Anvil only.
        const heartbeat =
          kind === "anvil" ? setInterval(() => void rpc(url, "evm_mine").catch(() => undefined), 1_000) : undefined;
        for (const child of workers) child.send({ type: "go" });
        try {
          await Promise.all(done);
        } finally {
          clearInterval(heartbeat);
        }
        const seconds = (Date.now() - started) / 1000;

        const operations = reports.flatMap((r) => r.operations);
        const failed = operations.filter((o) => !o.ok);
        const byKind = (k: OperationReport["kind"]) => operations.filter((o) => o.kind === k).length;
        const latencies = operations.map((o) => o.ms);
        console.log(
          `      ${kind}: ${operations.length} operations (grant ${byKind("grant")}, revoke ${byKind("revoke")}, anchor ${byKind("anchor")}, ` +
            `signed grant ${byKind("signedGrant")}) from ${WORKERS} processes in ${seconds.toFixed(1)} s = ` +
            `${(operations.length / seconds).toFixed(1)} ops/s; latency p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms ` +
            `(node start, deployment and worker start-up: ${bootSeconds.toFixed(1)} s)`,
        );
        expect(
          failed.map((o) => `${o.kind}: ${o.error}`).slice(0, 5),
          `${failed.length} operations failed`,
        ).to.deep.equal([]);
        expect(operations).to.have.length(OPERATIONS);

        // Nothing lost: every transaction is mined, successful, from its worker, and each wallet's nonces are 0..n-1.
        const txs = await pooled(operations.map((o) => () => provider.getTransaction(o.txHash!)));
        const receipts = await pooled(operations.map((o) => () => provider.getTransactionReceipt(o.txHash!)));
        expect(receipts.filter((r) => r === null || r.status !== 1)).to.have.length(0);
        for (const report of reports) {
          const nonces = txs
            .filter((tx) => tx !== null && getAddress(tx.from) === report.wallet)
            .map((tx) => tx!.nonce)
            .sort((a, b) => a - b);
          expect(nonces, `nonces of worker ${report.index}`).to.deep.equal(nonces.map((_, i) => i));
          expect(nonces).to.have.length(report.operations.length);
          expect(await provider.getTransactionCount(report.wallet, "latest")).to.equal(report.operations.length);
        }

        // Every patient's consents, rebuilt from the events by the SDK, equal consentOf key by key, and equal what
        // the worker says it did (last write per key wins).
        const reader = connect(provider, deployment);
        let keysChecked = 0;
        for (const report of reports) {
          // Per-key signature nonces: each key of the signer has used up exactly one nonce per signed grant of it.
          const signedPerKey = new Map<string, number>();
          for (const o of report.operations.filter((x) => x.kind === "signedGrant")) {
            const key = `${getAddress(o.grantee!)}|${categoryId(o.category!)}`;
            signedPerKey.set(key, (signedPerKey.get(key) ?? 0) + 1);
          }
          for (const [key, count] of signedPerKey) {
            const [grantee, category] = key.split("|");
            expect(
              await reader.consents.signatureNonce(report.signer, grantee, category),
              `signature nonce of worker ${report.index}'s signer for ${key}`,
            ).to.equal(BigInt(count));
          }
          for (const patient of [report.wallet, report.signer]) {
            const expected = new Map<string, { decision: Decision; purposes: number; actions: number }>();
            for (const o of report.operations.filter((x) => x.patient === patient && x.kind !== "anchor")) {
              const key = `${getAddress(o.grantee!)}|${categoryId(o.category!)}`;
              if (o.kind === "revoke") expected.set(key, { ...expected.get(key)!, decision: Decision.Revoked });
              else expected.set(key, { decision: Decision.Permit, purposes: o.purposes!, actions: o.actions! });
            }
            const rebuilt = await reader.currentConsents(patient);
            expect(
              rebuilt.map((c) => `${getAddress(c.grantee)}|${c.category}`).sort(),
              `keys of ${patient}`,
            ).to.deep.equal([...expected.keys()].sort());
            for (const c of rebuilt) {
              const onChain = await reader.consentOf(patient, c.grantee, c.category);
              expect(onChain.consent, `consentOf(${patient}, ${c.grantee}, ${c.category})`).to.deep.equal(c.consent);
              expect(onChain.status).to.equal(c.status);
              const mine = expected.get(`${getAddress(c.grantee)}|${c.category}`)!;
              expect(c.consent.decision).to.equal(mine.decision);
              expect([c.consent.purposes, c.consent.actions]).to.deep.equal([mine.purposes, mine.actions]);
              expect(c.status).to.equal(
                mine.decision === Decision.Revoked ? ConsentStatus.Revoked : ConsentStatus.Active,
              );
              keysChecked++;
            }
          }

          // Records: every anchor is there, as reported, at the time of its block.
          const anchors = report.operations.filter((o) => o.kind === "anchor");
          const events = await reader.records.queryFilter(
            reader.records.filters.RecordAnchored(undefined, report.wallet),
            deployment.deploymentBlock,
          );
          expect(events.map((e) => e.args.contentHash).sort()).to.deep.equal(anchors.map((o) => o.contentHash!).sort());
          for (const o of anchors) {
            const record = await reader.records.recordOf(o.recordId!);
            const block = await provider.getBlock(o.blockNumber!);
            expect(getAddress(record.patient)).to.equal(report.wallet);
            expect(record.category).to.equal(categoryId("laboratory"));
            expect(Number(record.status)).to.equal(RecordStatus.Active);
            expect(getAddress(record.anchoredBy)).to.equal(report.wallet);
            expect(Number(record.anchoredAt)).to.equal(block!.timestamp);
          }
        }
        console.log(
          `      ${kind}: ${keysChecked} consent keys and ${byKind("anchor")} records rebuilt from events and matched on-chain`,
        );
        provider.destroy();
      }
    });
  }
});
