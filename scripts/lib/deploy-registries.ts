/**
 * Deploys the registries through the Ignition module `ignition/modules/Registries.ts` and hands the provider
 * registry's roles over. Used by `scripts/deploy.ts` (every network) and `scripts/demo.ts` (the in-process chain).
 *
 * Where Ignition keeps its journal:
 * - public networks: `ignition/deployments/chain-<id>/` (or `$IGNITION_DEPLOYMENT_ID`), through `hre.ignition.deploy`,
 *   so an interrupted deployment resumes and a finished one is not repeated;
 * - local chains (chain id 31337 or 1337: `hardhat`, `localhost`, `anvil`): nowhere. The deployment runs in memory
 *   (Ignition's own choice for the in-process network), because a restarted dev node forgets its contracts while a
 *   journal would remember them; every run deploys fresh registries.
 */
import path from "node:path";
import { getAddress, isAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { deploy as ignitionDeploy, listTransactions } from "@nomicfoundation/ignition-core";
import type { ExecutionEventListener, TransactionSendEvent } from "@nomicfoundation/ignition-core";
import {
  HardhatArtifactResolver,
  errorDeploymentResultToExceptionMessage,
} from "@nomicfoundation/hardhat-ignition/helpers";

import RegistriesModule from "../../ignition/modules/Registries";
import { ProviderRegistry__factory, type ProviderRegistry } from "../../typechain-types";
import type { Deployment } from "../../src/deployment";
import { UserError } from "./errors";

/** Chain ids of local development chains (deployed in memory). */
export const LOCAL_CHAIN_IDS: ReadonlySet<number> = new Set([31337, 1337]);

/** Chain ids that are test networks or local chains: anything else is treated as a mainnet. */
export const TEST_CHAIN_IDS: Readonly<Record<number, string>> = {
  31337: "local development chain",
  1337: "local development chain",
  11155111: "Sepolia",
  17000: "Holesky",
  560048: "Hoodi",
  84532: "Base Sepolia",
  11155420: "OP Sepolia",
  421614: "Arbitrum Sepolia",
  80002: "Polygon Amoy",
  59141: "Linea Sepolia",
  534351: "Scroll Sepolia",
  300: "zkSync Sepolia",
};

/** The contracts of the module, in deployment order. */
const CONTRACTS = ["ProviderRegistry", "ConsentRegistry", "RecordRegistry"] as const;

export interface DeployRegistriesOptions {
  /** The first registrar (REGISTRAR_ROLE); default the deployer. */
  registrar?: string;
  /** Who ends up with DEFAULT_ADMIN_ROLE: granted to it, renounced by the deployer. Default: the deployer keeps it. */
  registryAdmin?: string;
  /** Ignition deployment id on journaled (non-local) networks; default `chain-<chainId>`. */
  deploymentId?: string;
  /** Where progress lines go (never a key). */
  log?: (line: string) => void;
}

/** Reads an optional address from an environment variable; throws a UserError naming the variable when invalid. */
export function addressFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  if (!isAddress(value)) throw new UserError(`${name} is not an address: "${value}"`);
  const address = getAddress(value);
  if (address === "0x0000000000000000000000000000000000000000") throw new UserError(`${name} is the zero address`);
  return address;
}

/** The chain id of the network `hre` is connected to. */
export async function chainIdOf(hre: HardhatRuntimeEnvironment): Promise<number> {
  return Number(await hre.network.provider.request({ method: "eth_chainId" }));
}

/** Refuses a chain that is not a known test or local chain unless `confirmed` (CONFIRM_MAINNET=yes). */
export function assertDeployableChain(chainId: number, network: string, confirmed: boolean): void {
  if (chainId in TEST_CHAIN_IDS || confirmed) return;
  throw new UserError(
    `Network ${network} is chain ${chainId}, not a known testnet: set CONFIRM_MAINNET=yes to deploy to a mainnet`,
  );
}

/** Deploys the three registries with the network's first account and returns the deployment record. */
export async function deployRegistries(
  hre: HardhatRuntimeEnvironment,
  options: DeployRegistriesOptions = {},
): Promise<Deployment> {
  const log = options.log ?? (() => undefined);
  const network = hre.network.name;
  const chainId = await chainIdOf(hre);
  const signers = await hre.ethers.getSigners();
  if (signers.length === 0) {
    throw new UserError(`No account to deploy with on ${network}: set DEPLOYER_PRIVATE_KEY in .env`);
  }
  const deployer = signers[0];
  const local = LOCAL_CHAIN_IDS.has(chainId);
  if (!local && (await hre.ethers.provider.getBalance(deployer.address)) === 0n) {
    throw new UserError(`The deployer ${deployer.address} has no ETH on ${network}: fund it first (a faucet)`);
  }

  log(`Deploying the registries to ${network} (chain ${chainId}) from ${deployer.address}`);
  const parameters: Parameters = options.registrar ? { Registries: { registrar: options.registrar } } : {};
  const { addresses, transactions } = local
    ? await deployInMemory(hre, parameters)
    : await deployJournaled(hre, parameters, options.deploymentId ?? `chain-${chainId}`);

  const receipts = await Promise.all(
    CONTRACTS.map((name) => transactions[name]).map((hash) =>
      hash ? hre.ethers.provider.getTransactionReceipt(hash) : null,
    ),
  );
  const blocks = receipts.flatMap((receipt) => (receipt ? [receipt.blockNumber] : []));
  if (blocks.length === 0) throw new UserError(`Cannot find the deployment transactions on ${network}`);

  const providers = ProviderRegistry__factory.connect(addresses.ProviderRegistry, deployer);
  const handOver = await handOverRoles(providers, deployer.address, options, log);
  const registryAdmin = options.registryAdmin ?? deployer.address;
  if (!(await providers.hasRole(await providers.DEFAULT_ADMIN_ROLE(), registryAdmin))) {
    throw new UserError(
      options.registryAdmin
        ? `${registryAdmin} does not hold the provider registry's admin role after the deployment`
        : `The deployer no longer holds the admin role of ${addresses.ProviderRegistry} (it was handed over): ` +
            "set REGISTRY_ADMIN to the current admin",
    );
  }

  return {
    network,
    chainId,
    providerRegistry: addresses.ProviderRegistry,
    consentRegistry: addresses.ConsentRegistry,
    recordRegistry: addresses.RecordRegistry,
    deploymentBlock: Math.min(...blocks),
    deployer: deployer.address,
    registryAdmin,
    transactions: { ...transactions, ...handOver },
    deployedAt: new Date().toISOString(),
  };
}

type ContractName = (typeof CONTRACTS)[number];
interface ModuleDeployment {
  addresses: Record<ContractName, string>;
  transactions: Record<string, string>;
}
type Parameters = Record<string, Record<string, string>>;

/** `Registries#ConsentRegistry` -> `ConsentRegistry`. */
function contractNameOf(futureId: string): string {
  return futureId.slice(futureId.indexOf("#") + 1);
}

/** Ignition without a journal, remembering the hash of every transaction it sends. */
async function deployInMemory(hre: HardhatRuntimeEnvironment, parameters: Parameters): Promise<ModuleDeployment> {
  const transactions: Record<string, string> = {};
  const listener = new Proxy({} as ExecutionEventListener, {
    get: (_target, event) =>
      event === "transactionSend"
        ? (sent: TransactionSendEvent) => {
            transactions[contractNameOf(sent.futureId)] = sent.hash;
          }
        : () => undefined,
  });
  const result = await ignitionDeploy({
    config: hre.config.ignition,
    provider: hre.network.provider,
    artifactResolver: new HardhatArtifactResolver(hre),
    executionEventListener: listener,
    deploymentDir: undefined,
    ignitionModule: RegistriesModule,
    deploymentParameters: parameters,
    accounts: (await hre.network.provider.request({ method: "eth_accounts" })) as string[],
  });
  if (result.type !== "SUCCESSFUL_DEPLOYMENT") {
    throw new UserError(errorDeploymentResultToExceptionMessage(result).replace(/\s+/g, " "));
  }
  return { addresses: addressesOf(result.contracts), transactions };
}

/** `hre.ignition.deploy` with its journal in `ignition/deployments/<deploymentId>/`. */
async function deployJournaled(
  hre: HardhatRuntimeEnvironment,
  parameters: Parameters,
  deploymentId: string,
): Promise<ModuleDeployment> {
  let contracts;
  try {
    contracts = await hre.ignition.deploy(RegistriesModule, { parameters, deploymentId, displayUi: true });
  } catch (error) {
    if (/reconciliation/i.test(String((error as Error).message))) {
      throw new UserError(
        `ignition/deployments/${deploymentId} was deployed with other parameters (a different REGISTRAR?): keep ` +
          "the first REGISTRAR and change registrars with grantRole/revokeRole, or set IGNITION_DEPLOYMENT_ID " +
          "to deploy new registries",
      );
    }
    throw error;
  }
  const addresses = {
    ProviderRegistry: await contracts.providerRegistry.getAddress(),
    ConsentRegistry: await contracts.consentRegistry.getAddress(),
    RecordRegistry: await contracts.recordRegistry.getAddress(),
  };
  const deploymentDir = path.join(hre.config.paths.ignition, "deployments", deploymentId);
  const transactions: Record<string, string> = {};
  for (const tx of await listTransactions(deploymentDir, new HardhatArtifactResolver(hre))) {
    if (tx.type === "DEPLOYMENT_EXECUTION_STATE" && tx.status === "SUCCESS" && tx.name) {
      transactions[tx.name] = tx.txHash;
    }
  }
  return { addresses, transactions };
}

function addressesOf(contracts: Record<string, { address: string }>): Record<ContractName, string> {
  const addressOf = (name: ContractName) => {
    const deployed = contracts[`Registries#${name}`];
    if (!deployed) throw new UserError(`Ignition did not deploy ${name}`);
    return getAddress(deployed.address);
  };
  return {
    ProviderRegistry: addressOf("ProviderRegistry"),
    ConsentRegistry: addressOf("ConsentRegistry"),
    RecordRegistry: addressOf("RecordRegistry"),
  };
}

/**
 * Makes the roles match the options, whatever the registry's state (so a resumed deployment is handled too): the
 * registrar holds REGISTRAR_ROLE and the deployer not, when a registrar other than the deployer is given; the
 * registry admin holds DEFAULT_ADMIN_ROLE and the deployer renounced it, when an admin other than the deployer is
 * given. Returns the hashes of the transactions it sent.
 */
async function handOverRoles(
  providers: ProviderRegistry,
  deployer: string,
  options: DeployRegistriesOptions,
  log: (line: string) => void,
): Promise<Record<string, string>> {
  const sent: Record<string, string> = {};
  const send = async (label: string, tx: Promise<{ hash: string; wait: () => Promise<unknown> }>) => {
    const response = await tx;
    await response.wait();
    sent[label] = response.hash;
    log(`  ${label}: ${response.hash}`);
  };
  const ADMIN = await providers.DEFAULT_ADMIN_ROLE();
  const REGISTRAR = await providers.REGISTRAR_ROLE();

  if (options.registrar && options.registrar !== deployer) {
    if (!(await providers.hasRole(REGISTRAR, options.registrar))) {
      await send("grantRole(REGISTRAR_ROLE)", providers.grantRole(REGISTRAR, options.registrar));
    }
    if (await providers.hasRole(REGISTRAR, deployer)) {
      await send("renounceRole(REGISTRAR_ROLE)", providers.renounceRole(REGISTRAR, deployer));
    }
  }
  if (options.registryAdmin && options.registryAdmin !== deployer) {
    if (!(await providers.hasRole(ADMIN, options.registryAdmin))) {
      await send("grantRole(DEFAULT_ADMIN_ROLE)", providers.grantRole(ADMIN, options.registryAdmin));
    }
    if (await providers.hasRole(ADMIN, deployer)) {
      await send("renounceRole(DEFAULT_ADMIN_ROLE)", providers.renounceRole(ADMIN, deployer));
    }
  }
  return sent;
}
