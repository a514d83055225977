/**
 * Which chain and which registries to index, from a deployment record (deployments/<network>.json, written by
 * `npm run deploy`): addresses and start blocks come from the record, never from this file. `npm run indexer`
 * (run.mjs) sets the variables below; set them yourself to run `ponder` directly.
 *
 * - CONSENT_ANCHOR_DEPLOYMENT: the deployment record's path (required)
 * - CONSENT_ANCHOR_RPC_URL: the node's JSON-RPC URL (required)
 * - CONSENT_ANCHOR_POLLING_MS: how often to poll the node for new blocks (default 1,000 ms)
 * - DATABASE_URL: a Postgres connection string; without it, the embedded PGlite in CONSENT_ANCHOR_PGLITE_DIR
 *   (default .ponder/pglite)
 */
import fs from "node:fs";
import { createConfig } from "ponder";

import { ConsentRegistryAbi, ProviderRegistryAbi, RecordRegistryAbi } from "./abis";

interface DeploymentRecord {
  network: string;
  chainId: number;
  providerRegistry: `0x${string}`;
  consentRegistry: `0x${string}`;
  recordRegistry: `0x${string}`;
  deploymentBlock: number;
}

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`${name} is not set: start the indexer with \`npm run indexer -- --network <name>\``);
  return value;
}

const deploymentFile = required("CONSENT_ANCHOR_DEPLOYMENT");
const deployment = JSON.parse(fs.readFileSync(deploymentFile, "utf8")) as DeploymentRecord;
const pollingInterval = Number(process.env.CONSENT_ANCHOR_POLLING_MS ?? 1_000);
const databaseUrl = process.env.DATABASE_URL?.trim();

export default createConfig({
  database: databaseUrl
    ? { kind: "postgres", connectionString: databaseUrl }
    : { kind: "pglite", directory: process.env.CONSENT_ANCHOR_PGLITE_DIR?.trim() || ".ponder/pglite" },
  ordering: "multichain",
  chains: {
    chain: {
      id: deployment.chainId,
      rpc: required("CONSENT_ANCHOR_RPC_URL"),
      pollingInterval,
      // A local chain restarts from scratch: never reuse cached RPC answers for it.
      disableCache: deployment.chainId === 31337 || deployment.chainId === 1337,
    },
  },
  contracts: {
    ConsentRegistry: {
      chain: "chain",
      abi: ConsentRegistryAbi,
      address: deployment.consentRegistry,
      startBlock: deployment.deploymentBlock,
    },
    ProviderRegistry: {
      chain: "chain",
      abi: ProviderRegistryAbi,
      address: deployment.providerRegistry,
      startBlock: deployment.deploymentBlock,
    },
    RecordRegistry: {
      chain: "chain",
      abi: RecordRegistryAbi,
      address: deployment.recordRegistry,
      startBlock: deployment.deploymentBlock,
    },
  },
});
