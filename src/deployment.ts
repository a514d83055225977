/**
 * Where the registries of a network are: `deployments/<network>.json`, written by `npm run deploy` in the
 * consent-anchor repository, read by the command-line tasks, the demo and any application using the SDK. The package
 * ships the deployments of the public networks it is deployed on: look them up by chain id with
 * {@link deploymentForChain}.
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
 * The `deployments/` folder shipped with the SDK: the records of the public networks the registries are deployed on
 * (none are local chains). Found from this module's own location, whatever the working directory.
 */
export function knownDeploymentsDir(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: unknown }).name === "consent-anchor") {
          return path.join(dir, "deployments");
        }
      } catch {
        // not a readable manifest: keep looking upwards
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(__dirname, "..", "..", "deployments");
    dir = parent;
  }
}

/**
 * Reads `network`'s deployment from `<dir>/<network>.json`; without `dir`, from {@link defaultDeploymentsDir} and then
 * from the deployments shipped with the SDK. Throws one sentence naming every path searched when there is none, or
 * naming the file when it is not a deployment.
 */
export function loadDeployment(network: string, dir?: string): Deployment {
  const dirs = dir ? [dir] : [...new Set([defaultDeploymentsDir(), knownDeploymentsDir()])];
  const files = dirs.map((folder) => deploymentPath(network, folder));
  const file = files.find((candidate) => fs.existsSync(candidate));
  if (!file) {
    throw new Error(
      `No deployment for network ${network}: searched ${files.join(" and ")}. Pass the folder holding ` +
        `${network}.json, set DEPLOYMENTS_DIR, or look a public network up with deploymentForChain(chainId)`,
    );
  }
  return readDeploymentFile(file);
}

/**
 * The deployment of the chain `chainId` among the files of `dir` (default: the deployments shipped with the SDK).
 * Throws naming the folder searched when none is for this chain, or the files when several are.
 */
export function deploymentForChain(chainId: number | bigint, dir: string = knownDeploymentsDir()): Deployment {
  const wanted = Number(chainId);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((name) => name.endsWith(".json"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`Cannot read ${dir}: ${String(error)}`);
  }
  const found = names.map((name) => readDeploymentFile(path.join(dir, name))).filter((d) => d.chainId === wanted);
  if (found.length === 0) {
    throw new Error(
      `No deployment for chain ${wanted} in ${dir}` +
        (names.length > 0 ? ` (it holds ${names.join(", ")})` : " (it holds none)") +
        ": pass the registries' addresses to connect() yourself, or a folder holding the network's deployment file",
    );
  }
  if (found.length > 1) {
    throw new Error(
      `Several deployments for chain ${wanted} in ${dir} (${found.map((d) => `${d.network}.json`).join(", ")}): ` +
        "load the one you mean with loadDeployment(network, dir)",
    );
  }
  return found[0];
}

function readDeploymentFile(file: string): Deployment {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`Cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON: it is not a deployment file`);
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
