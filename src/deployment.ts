/**
 * Where the registries of a network are: `deployments/<network>.json`, written by `npm run deploy` and read by the
 * command-line tasks, the demo and any application using the SDK.
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress, isAddress, isHexString } from "ethers";

/** One network's deployment of the three registries. */
export interface Deployment {
  /** The Hardhat network name the file is for (`localhost`, `sepolia`, ...). */
  network: string;
  chainId: number;
  providerRegistry: string;
  consentRegistry: string;
  recordRegistry: string;
  /** The block of the first deployment transaction: where event scans (history) start. */
  deploymentBlock: number;
  deployer: string;
  /** Who holds the provider registry's `DEFAULT_ADMIN_ROLE` after the deployment. */
  registryAdmin: string;
  /** Contract name -> deployment transaction hash (and any role hand-over transactions). */
  transactions: Record<string, string>;
  /** ISO time of the deployment. */
  deployedAt: string;
}

/** What a client needs to connect to the registries. */
export type DeploymentAddresses = Pick<Deployment, "providerRegistry" | "consentRegistry" | "recordRegistry"> & {
  deploymentBlock?: number;
  chainId?: number;
};

/** The directory deployment files are kept in: `$DEPLOYMENTS_DIR`, else `deployments/` of the working directory. */
export function defaultDeploymentsDir(): string {
  const fromEnv = process.env.DEPLOYMENTS_DIR?.trim();
  return path.resolve(fromEnv ? fromEnv : path.join(process.cwd(), "deployments"));
}

/** The file of `network`'s deployment: `<dir>/<network>.json`. */
export function deploymentPath(network: string, dir?: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(network)) {
    throw new Error(`Invalid network name "${network}": use letters, digits, "-" and "_"`);
  }
  return path.join(dir ?? defaultDeploymentsDir(), `${network}.json`);
}

/**
 * Reads `network`'s deployment. Throws one clear sentence when there is none (run the deploy script first) or when
 * the file is not a deployment.
 */
export function loadDeployment(network: string, dir?: string): Deployment {
  const file = deploymentPath(network, dir);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`No deployment for network ${network}: run \`npm run deploy -- --network ${network}\` first`);
    }
    throw new Error(`Cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON: re-run \`npm run deploy -- --network ${network}\``);
  }
  return parseDeployment(parsed, file);
}

/** Writes `deployment` to `<dir>/<network>.json` (creating the directory) and returns the file's path. */
export function saveDeployment(deployment: Deployment, dir?: string): string {
  const checked = parseDeployment(deployment, "the deployment to save");
  const file = deploymentPath(checked.network, dir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(checked, null, 2)}\n`);
  fs.renameSync(temporary, file);
  return file;
}

/** Checks the shape of a deployment read from a file; addresses come back checksummed. */
export function parseDeployment(value: unknown, source: string): Deployment {
  const invalid = (what: string) => new Error(`${source} is not a valid deployment file: ${what}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("expected a JSON object");
  const record = value as Record<string, unknown>;

  const text = (key: string): string => {
    const field = record[key];
    if (typeof field !== "string" || field.length === 0) throw invalid(`"${key}" must be a non-empty string`);
    return field;
  };
  const address = (key: string): string => {
    const field = text(key);
    if (!isAddress(field)) throw invalid(`"${key}" must be an address`);
    return getAddress(field);
  };
  const count = (key: string): number => {
    const field = record[key];
    if (typeof field !== "number" || !Number.isSafeInteger(field) || field < 0) {
      throw invalid(`"${key}" must be a non-negative integer`);
    }
    return field;
  };

  const transactions: Record<string, string> = {};
  const rawTransactions = record.transactions ?? {};
  if (typeof rawTransactions !== "object" || rawTransactions === null || Array.isArray(rawTransactions)) {
    throw invalid(`"transactions" must be an object of transaction hashes`);
  }
  for (const [name, hash] of Object.entries(rawTransactions)) {
    if (typeof hash !== "string" || !isHexString(hash, 32)) throw invalid(`transaction "${name}" must be a hash`);
    transactions[name] = hash;
  }

  return {
    network: text("network"),
    chainId: count("chainId"),
    providerRegistry: address("providerRegistry"),
    consentRegistry: address("consentRegistry"),
    recordRegistry: address("recordRegistry"),
    deploymentBlock: count("deploymentBlock"),
    deployer: address("deployer"),
    registryAdmin: address("registryAdmin"),
    transactions,
    deployedAt: text("deployedAt"),
  };
}
