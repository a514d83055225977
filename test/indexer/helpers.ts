/**
 * Test helpers for the indexer: deploy the registries on a node over JSON-RPC and write a deployment record, start
 * the indexer (`npm run indexer`'s script, PGlite or Postgres) and wait for it to catch up, and start a throw-away
 * Postgres cluster (Debian's postgresql) on a free port.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import type { JsonRpcProvider, Wallet } from "ethers";

import { saveDeployment, type Deployment } from "../../src/deployment";
import { freePort, PROJECT_ROOT } from "../helpers/anvil";

/** Deploys the three registries from `deployer` (admin and registrar) and writes `<dir>/<network>.json`. */
export async function deployOverRpc(deployer: Wallet, dir: string, network = "anvil"): Promise<Deployment> {
  const provider = deployer.provider as JsonRpcProvider;
  const startBlock = await provider.getBlockNumber();
  const providers = await (
    await ethers.getContractFactory("ProviderRegistry", deployer)
  ).deploy(deployer.address, deployer.address);
  await providers.waitForDeployment();
  const consents = await (
    await ethers.getContractFactory("ConsentRegistry", deployer)
  ).deploy(await providers.getAddress());
  await consents.waitForDeployment();
  const records = await (
    await ethers.getContractFactory("RecordRegistry", deployer)
  ).deploy(await consents.getAddress());
  await records.waitForDeployment();
  const deployment: Deployment = {
    network,
    chainId: Number((await provider.getNetwork()).chainId),
    providerRegistry: await providers.getAddress(),
    consentRegistry: await consents.getAddress(),
    recordRegistry: await records.getAddress(),
    deploymentBlock: startBlock + 1,
    deployer: deployer.address,
    registryAdmin: deployer.address,
    transactions: {},
    deployedAt: new Date().toISOString(),
  };
  saveDeployment(deployment, dir);
  return deployment;
}

export interface IndexerProcess {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Every indexer or Postgres started and not stopped, killed when the test process exits. */
const running = new Set<() => void>();
process.on("exit", () => {
  for (const kill of running) kill();
});

/**
 * Starts `node indexer/run.mjs` for the deployment record `deploymentFile`, on PGlite in `pgliteDir` or on
 * `databaseUrl`, and waits until its HTTP server answers /status.
 */
export async function startIndexer(options: {
  deploymentFile: string;
  rpcUrl: string;
  pgliteDir?: string;
  databaseUrl?: string;
  schema?: string;
  timeoutMs?: number;
}): Promise<IndexerProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PONDER_TELEMETRY_DISABLED: "true", DATABASE_URL: "" };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  if (options.pgliteDir) env.CONSENT_ANCHOR_PGLITE_DIR = options.pgliteDir;
  delete env.DATABASE_PRIVATE_URL;
  const args = [
    path.join(PROJECT_ROOT, "indexer", "run.mjs"),
    "--deployment",
    options.deploymentFile,
    "--rpc",
    options.rpcUrl,
    "--port",
    String(port),
    "--polling-ms",
    "200",
    "--schema",
    options.schema ?? "consent_anchor_test",
  ];
  // Its own process group: a signal reaches both run.mjs and the Ponder process it starts (a SIGKILL of run.mjs
  // alone would leave Ponder running).
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  let output = "";
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const kill = () => signalGroup("SIGKILL");
  running.add(kill);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (!exited) {
      const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      signalGroup(signal);
      const timer = setTimeout(() => signalGroup("SIGKILL"), 10_000);
      await done;
      clearTimeout(timer);
    }
    // Ponder itself, whatever run.mjs did.
    signalGroup("SIGKILL");
    running.delete(kill);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    if (exited) throw new Error(`The indexer exited:\n${output}`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return { url, process: child, output: () => output, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`The indexer did not answer within ${options.timeoutMs ?? 90_000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The block the indexer has indexed up to (0 before it has a checkpoint). */
export async function indexedBlock(url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/status`);
    if (!response.ok) return 0;
    const status = (await response.json()) as Record<string, { block?: { number?: number } }>;
    return Math.min(...Object.values(status).map((chain) => chain.block?.number ?? 0), Infinity) || 0;
  } catch {
    return 0;
  }
}

/** Waits until the indexer has indexed `block` (and is ready). */
export async function waitForIndexer(url: string, block: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await indexedBlock(url)) >= block) {
      const ready = await fetch(`${url}/ready`).catch(() => undefined);
      if (ready?.ok) return;
    }
    if (Date.now() > deadline) throw new Error(`The indexer did not reach block ${block} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Debian's PostgreSQL binaries: on the PATH, else /usr/lib/postgresql/<version>/bin. */
export function postgresBin(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  const base = "/usr/lib/postgresql";
  if (!fs.existsSync(base)) return undefined;
  for (const version of fs.readdirSync(base).sort().reverse()) {
    const file = path.join(base, version, "bin", name);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}

export interface PostgresCluster {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a throw-away PostgreSQL cluster on a free port in a temporary folder (`initdb`, then `pg_ctl start`), as
 * the `postgres` user when the tests run as root (Postgres refuses to run as root). Returns its connection URL.
 */
export async function startPostgres(): Promise<PostgresCluster> {
  const initdb = postgresBin("initdb");
  const pgCtl = postgresBin("pg_ctl");
  if (!initdb || !pgCtl) throw new Error("PostgreSQL is not installed: apt-get install -y postgresql (see .ci/run)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consent-pg-"));
  const data = path.join(dir, "data");
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const run = (file: string, args: string[]) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", file, ...args], { stdio: "pipe", cwd: dir })
      : execFileSync(file, args, { stdio: "pipe", cwd: dir });
  run(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  run(pgCtl, [
    "-D",
    data,
    "-l",
    path.join(dir, "log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`,
    "-w",
    "start",
  ]);
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try {
      run(pgCtl, ["-D", data, "-m", "immediate", "stop"]);
    } catch {
      // already stopped
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  running.add(stopSync);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      running.delete(stopSync);
      stopSync();
    },
  };
}
