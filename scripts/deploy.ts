/**
 * Deploys ProviderRegistry, ConsentRegistry and RecordRegistry to the chosen network and writes
 * `deployments/<network>.json` (or `$DEPLOYMENTS_DIR/<network>.json`) for the tasks and the SDK.
 *
 *   npm run deploy -- --network localhost
 *   npm run deploy -- --network sepolia          # DEPLOYER_PRIVATE_KEY and SEPOLIA_RPC_URL in .env
 *
 * Environment: REGISTRAR (first registrar, default the deployer), REGISTRY_ADMIN (hand the admin role over to it),
 * CONFIRM_MAINNET=yes (needed for any chain that is not a known testnet), DEPLOYMENTS_DIR, IGNITION_DEPLOYMENT_ID.
 * No key is ever printed.
 */
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";

import { loadDeployment, saveDeployment, type Deployment } from "../src/deployment";
import {
  TEST_CHAIN_IDS,
  addressFromEnv,
  assertDeployableChain,
  chainIdOf,
  deployRegistries,
} from "./lib/deploy-registries";
import { UserError, describeError } from "./lib/errors";

async function main(): Promise<void> {
  const network = hre.network.name;
  const registrar = addressFromEnv("REGISTRAR");
  const registryAdmin = addressFromEnv("REGISTRY_ADMIN");
  const chainId = await chainIdOf(hre);
  assertDeployableChain(chainId, network, process.env.CONFIRM_MAINNET === "yes");
  // Nothing paid is lost: the deployment file must be writable before any contract is deployed.
  if (network !== "hardhat") checkWritableDir(deploymentsDir());
  if (!(chainId in TEST_CHAIN_IDS)) console.log(`CONFIRM_MAINNET=yes: deploying to mainnet chain ${chainId}`);

  const deployment = await deployRegistries(hre, {
    registrar,
    registryAdmin,
    deploymentId: process.env.IGNITION_DEPLOYMENT_ID?.trim() || undefined,
    log: (line) => console.log(line),
  });

  console.log(`  ProviderRegistry ${deployment.providerRegistry}`);
  console.log(`  ConsentRegistry  ${deployment.consentRegistry}`);
  console.log(`  RecordRegistry   ${deployment.recordRegistry}`);
  console.log(`  deployment block ${deployment.deploymentBlock}, registry admin ${deployment.registryAdmin}`);
  if (network === "hardhat") {
    console.log("The in-process hardhat network ends with this script: nothing saved. Use --network localhost.");
    return;
  }
  const dir = deploymentsDir();
  const previous = previousDeployment(network, dir);
  const unchanged =
    previous?.chainId === deployment.chainId &&
    previous.consentRegistry === deployment.consentRegistry &&
    previous.providerRegistry === deployment.providerRegistry &&
    previous.recordRegistry === deployment.recordRegistry;
  // A resumed deployment (nothing new deployed) keeps its original time and hand-over transactions.
  const record = unchanged
    ? {
        ...deployment,
        deployedAt: previous.deployedAt,
        transactions: { ...previous.transactions, ...deployment.transactions },
      }
    : deployment;
  console.log(`Saved ${saveDeployment(record, dir)}`);
}

/** Refuses, before anything is sent, a deployments folder that cannot be created or written. */
function checkWritableDir(dir: string): void {
  const probe = path.join(dir, `.deploy.${process.pid}.probe`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(probe, "", { flag: "wx" });
    fs.rmSync(probe, { force: true });
  } catch (error) {
    throw new UserError(`Cannot write the deployment file into ${dir}: ${(error as Error).message}`);
  }
}

function previousDeployment(network: string, dir: string): Deployment | undefined {
  try {
    return loadDeployment(network, dir);
  } catch {
    return undefined;
  }
}

/** `$DEPLOYMENTS_DIR`, else `deployments/` at the project root. */
function deploymentsDir(): string {
  return process.env.DEPLOYMENTS_DIR?.trim() || `${hre.config.paths.root}/deployments`;
}

main().catch(async (error: unknown) => {
  console.error(`Error: ${await describeError(error)}`);
  if (process.env.DEBUG_DEPLOY) console.error(error);
  process.exitCode = 1;
});
