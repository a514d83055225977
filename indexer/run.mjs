#!/usr/bin/env node
/* global process, console */
/**
 * `npm run indexer -- --network <name> [options]`: indexes the registries of deployments/<name>.json with Ponder
 * (`ponder start`), and serves GraphQL, SQL over HTTP and /status. Without DATABASE_URL the data goes to the embedded
 * PGlite in indexer/.ponder/; with it, to that Postgres.
 *
 *   --network NAME      the deployment record deployments/NAME.json (or $DEPLOYMENTS_DIR/NAME.json)
 *   --deployment FILE   a deployment record's path instead
 *   --rpc URL           the node (default: $<NETWORK>_RPC_URL, e.g. SEPOLIA_RPC_URL, LOCALHOST_RPC_URL; for
 *                       localhost and anvil http://127.0.0.1:8545)
 *   --port N            the HTTP port (default 42069)
 *   --schema NAME       the database schema (default: one per deployment record, so that a fresh local chain
 *                       never resumes an old one's data)
 *   --serve             serve the API from a schema another instance indexes (ponder serve): no indexing
 *   --polling-ms N      how often to poll the node (default 1000)
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");

function usage(message) {
  console.error(
    `${message}\nUsage: npm run indexer -- --network <name> [--rpc URL] [--port N] [--schema NAME] [--serve]`,
  );
  process.exit(2);
}

const options = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg === "--serve") options.serve = true;
  else if (["--network", "--deployment", "--rpc", "--port", "--schema", "--polling-ms"].includes(arg)) {
    const value = argv[++i];
    if (value === undefined || value.startsWith("--")) usage(`${arg} needs a value`);
    options[arg.slice(2)] = value;
  } else usage(`Unknown option ${arg}`);
}
if (!options.network && !options.deployment) usage("Say which deployment to index: --network <name>");

const deploymentsDir = path.resolve(process.env.DEPLOYMENTS_DIR?.trim() || path.join(root, "deployments"));
const deploymentFile = path.resolve(options.deployment ?? path.join(deploymentsDir, `${options.network}.json`));
if (!fs.existsSync(deploymentFile)) {
  usage(
    `No deployment record at ${deploymentFile}: deploy first (npm run deploy -- --network ${options.network ?? "<name>"})`,
  );
}
const text = fs.readFileSync(deploymentFile, "utf8");
const deployment = JSON.parse(text);
const network = options.network ?? deployment.network;
const envName = `${String(network)
  .replace(/[A-Z]/g, (c) => `_${c}`)
  .toUpperCase()}_RPC_URL`;
const local = ["localhost", "anvil", "hardhat"].includes(network);
const rpc = options.rpc ?? process.env[envName] ?? (local ? "http://127.0.0.1:8545" : undefined);
if (!rpc) usage(`No RPC URL for ${network}: pass --rpc URL or set ${envName}`);
const schema =
  options.schema ??
  `ca_${String(network)
    .replace(/[^A-Za-z0-9]/g, "_")
    .toLowerCase()
    .slice(0, 20)}_${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;

const ponderBin = path.join(path.dirname(fileURLToPath(import.meta.resolve("ponder"))), "bin", "ponder.js");
const args = [ponderBin, options.serve ? "serve" : "start", "--schema", schema, "--port", options.port ?? "42069"];
console.log(
  `Indexing ${network} (chain ${deployment.chainId}) from block ${deployment.deploymentBlock} through ${rpc}, ` +
    `schema ${schema}, ${process.env.DATABASE_URL ? "Postgres (DATABASE_URL)" : "PGlite (indexer/.ponder/pglite)"}; ` +
    `API on http://localhost:${options.port ?? "42069"}/graphql`,
);
const child = spawn(process.execPath, args, {
  cwd: here,
  stdio: "inherit",
  env: {
    ...process.env,
    PONDER_TELEMETRY_DISABLED: "true",
    CONSENT_ANCHOR_DEPLOYMENT: deploymentFile,
    CONSENT_ANCHOR_RPC_URL: rpc,
    ...(options["polling-ms"] ? { CONSENT_ANCHOR_POLLING_MS: options["polling-ms"] } : {}),
  },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
