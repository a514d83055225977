/**
 * What every task shares: the account that signs (`--from`), the deployment of the network, the SDK client, the
 * parsing of arguments, and printing any error as ONE line with a non-zero exit code.
 *
 * Hardhat loads this file with its config, before contracts are compiled: the SDK client and its TypeChain types are
 * imported lazily, inside the actions.
 */
import fs from "node:fs";
import path from "node:path";
import { getAddress, isAddress, isHexString, type Signer } from "ethers";
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

import { categoryId, parseAction, parsePurpose, type Action, type Purpose } from "../src/codes";
import { deploymentPath, loadDeployment, type Deployment } from "../src/deployment";
import type { ConsentClient } from "../src/client";
import { UserError, describeError } from "../scripts/lib/errors";
import { Output } from "./lib/output";
import { SimulatingSigner } from "./lib/simulating-signer";

export { UserError, Output };
export { parseDate, parseDurationOption, parseExpiry, parseNotBefore } from "./lib/dates";

/** Options every task has. */
export interface CommonArgs {
  json?: boolean;
  /** Only on yes/no checks: exit 1 when the answer is no. */
  exitCode?: boolean;
}

/** Declares a task with the options every task has (`--json`). */
export function cliTask(name: string, description: string) {
  return task(name, description).addFlag("json", "Print one JSON document on stdout; messages go to stderr");
}

/** SDK field names in an error, as the options a user types. */
const OPTION_NAMES: [RegExp, string][] = [
  [/\bexpiresAt\b/g, "--expires"],
  [/\bnotBefore\b/g, "--not-before"],
  [/\bdeadline\b/g, "--deadline"],
  [/\bmetadataURI\b/g, "--metadata-uri"],
  [/\bcontentHash\b/g, "--content-hash"],
];

/** Rewrites the SDK's field names in a message as the command line's options. */
export function inOptionTerms(message: string): string {
  return OPTION_NAMES.reduce((text, [field, option]) => text.replace(field, option), message);
}

/**
 * Wraps a task action: any error is printed as one line on stderr (with --json, also as a JSON document on stdout)
 * and the exit code is 1, or 2 for a yes/no check run with --exit-code (whose "no" is 1). Stack with --verbose.
 */
export function cliAction<A extends CommonArgs>(
  action: (args: A, hre: HardhatRuntimeEnvironment, out: Output) => Promise<void>,
): (args: A, hre: HardhatRuntimeEnvironment) => Promise<void> {
  return async (args, hre) => {
    const out = new Output(Boolean(args.json));
    try {
      await action(args, hre, out);
      out.succeed();
    } catch (error) {
      const message = await describeError(error);
      out.fail(error instanceof UserError ? message : inOptionTerms(message));
      if (hre.hardhatArguments.verbose || hre.hardhatArguments.showStackTraces) console.error(error);
      process.exitCode = args.exitCode ? 2 : 1;
    }
  };
}

/** `$DEPLOYMENTS_DIR`, else `deployments/` at the project root. */
export function deploymentsDir(hre: HardhatRuntimeEnvironment): string {
  return process.env.DEPLOYMENTS_DIR?.trim() || path.join(hre.config.paths.root, "deployments");
}

/** The account `--from` names: an index into the network's accounts, or one of their addresses; default 0. */
export async function pickSigner(hre: HardhatRuntimeEnvironment, from: string | undefined): Promise<Signer> {
  const network = hre.network.name;
  const signers = await hre.ethers.getSigners();
  if (signers.length === 0) {
    throw new UserError(`No account is configured for network ${network}: set DEPLOYER_PRIVATE_KEY in .env`);
  }
  const choice = from?.trim() ?? "";
  if (choice === "") return signers[0];
  if (/^\d+$/.test(choice)) {
    const index = Number(choice);
    if (index >= signers.length) {
      throw new UserError(
        `--from ${choice}: network ${network} has ${signers.length} account(s), indexes 0 to ${signers.length - 1}`,
      );
    }
    return signers[index];
  }
  if (!isAddress(choice)) throw new UserError(`--from must be an account index or an address, got "${choice}"`);
  const found = signers.find((s) => s.address.toLowerCase() === choice.toLowerCase());
  if (!found) throw new UserError(`--from ${choice} is not one of the accounts configured for network ${network}`);
  return found;
}

export interface TaskContext {
  deployment: Deployment;
  client: ConsentClient;
  /** The signing account (`--from`); undefined for read-only tasks. */
  signer?: Signer;
  /** Its address. */
  from?: string;
  /**
   * Chain time: the latest block's timestamp, or the clock when that block is older (an idle dev node mines the
   * next block at the clock's time). Durations count from it.
   */
  now: number;
}

/**
 * Loads the network's deployment (checking it is for this chain and its contracts exist) and connects the SDK
 * client with the `--from` account, or read-only when `sign` is false.
 */
export async function taskContext(
  hre: HardhatRuntimeEnvironment,
  options: { from?: string; sign: boolean },
): Promise<TaskContext> {
  const network = hre.network.name;
  const dir = deploymentsDir(hre);
  if (network === "hardhat" && !fs.existsSync(deploymentPath(network, dir))) {
    throw new UserError(
      "No --network given, so this ran on Hardhat's in-process chain, which has no registries and forgets " +
        "everything when the command ends: start a node with `npx hardhat node`, deploy with " +
        "`npm run deploy -- --network localhost`, and add `--network localhost` to the command",
    );
  }
  let deployment: Deployment;
  try {
    deployment = loadDeployment(network, dir);
  } catch (error) {
    if (fs.existsSync(deploymentPath(network, dir))) throw new UserError((error as Error).message);
    throw new UserError(
      `No deployment for network ${network} (searched ${deploymentPath(network, dir)}): ` +
        `run \`npm run deploy -- --network ${network}\` first`,
    );
  }
  const provider = hre.ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  if (chainId !== deployment.chainId) {
    throw new UserError(
      `The deployment of ${network} is for chain ${deployment.chainId} but the network is chain ${chainId}: ` +
        `run \`npm run deploy -- --network ${network}\``,
    );
  }
  if ((await provider.getCode(deployment.consentRegistry)) === "0x") {
    throw new UserError(
      `No contract at ${deployment.consentRegistry} on ${network} (was the node restarted?): ` +
        `run \`npm run deploy -- --network ${network}\``,
    );
  }
  const picked = options.sign ? await pickSigner(hre, options.from) : undefined;
  const signer = picked ? new SimulatingSigner(picked) : undefined;
  const { connect } = await import("../src/client");
  const client = connect(signer ?? provider, deployment, { categories: extraCategoryCodes() });
  const block = await provider.getBlock("latest");
  return {
    deployment,
    client,
    signer,
    from: signer ? await signer.getAddress() : undefined,
    now: Math.max(block?.timestamp ?? 0, Math.floor(Date.now() / 1000)),
  };
}

/**
 * Category codes the project's own deployment uses besides the well-known ones (env CONSENT_CATEGORY_CODES, comma
 * separated, e.g. "dental,podiatry"). Any other unknown code is refused as a likely typo.
 */
export function extraCategoryCodes(): string[] {
  return (process.env.CONSENT_CATEGORY_CODES ?? "")
    .split(",")
    .map((code) => code.trim())
    .filter((code) => code.length > 0);
}

/** The value of a required option, or a one-line error naming it. */
export function required(value: string | undefined, option: string, hint: string): string {
  const text = value?.trim();
  if (!text) throw new UserError(`Missing --${option}: ${hint}`);
  return text;
}

/** A checksummed address from an option. */
export function parseAddress(value: string | undefined, option: string): string {
  const text = required(value, option, "give an address (0x followed by 40 hex digits)");
  if (!isAddress(text)) {
    if (/^0x[0-9a-fA-F]{40}$/.test(text)) {
      throw new UserError(`--${option} ${text} has a wrong checksum (its upper/lower case letters): check the address`);
    }
    throw new UserError(`--${option} is not an address: "${text}"`);
  }
  return getAddress(text);
}

/** A category code ("laboratory", "*") or a bytes32 id, checked; returned as given for the SDK. */
export function parseCategory(value: string | undefined, option = "category"): string {
  const text = required(value, option, `give a category code such as "laboratory", or "*" for every category`);
  if (isHexString(text, 32)) return text;
  try {
    categoryId(text);
  } catch (error) {
    throw new UserError(`--${option}: ${(error as Error).message}`);
  }
  return text;
}

function list(value: string | undefined, option: string, hint: string): string[] {
  const items = required(value, option, hint)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new UserError(`Missing --${option}: ${hint}`);
  return items;
}

function rethrowAs<T>(option: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UserError(`--${option}: ${(error as Error).message}`);
  }
}

/** "TREAT,CAREMGT" -> purposes. */
export function parsePurposes(value: string | undefined, option = "purposes"): Purpose[] {
  const codes = list(value, option, `give purpose codes such as "TREAT,CAREMGT"`);
  return rethrowAs(option, () => codes.map(parsePurpose));
}

/** "access,use" -> actions. */
export function parseActions(value: string | undefined, option = "actions"): Action[] {
  const codes = list(value, option, `give action codes such as "access,use"`);
  return rethrowAs(option, () => codes.map(parseAction));
}

/** One purpose code. */
export function parseOnePurpose(value: string | undefined, option = "purpose"): Purpose {
  return rethrowAs(option, () => parsePurpose(required(value, option, `give a purpose code such as "TREAT"`)));
}

/** One action code. */
export function parseOneAction(value: string | undefined, option = "action"): Action {
  return rethrowAs(option, () => parseAction(required(value, option, `give an action code such as "access"`)));
}

/** A batch id option: 0x and up to 64 hex digits. */
export function parseBatchId(value: string | undefined, option = "batch-id"): bigint {
  const text = required(value, option, "give the batch id (0x followed by hex digits), as record:batch printed it");
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(text)) {
    throw new UserError(`--${option} must be a batch id in hex (0x followed by up to 64 hex digits), got "${text}"`);
  }
  return BigInt(text);
}

/** A batch id as the command line prints it: 0x and 64 hex digits. */
export function formatBatchId(id: bigint): string {
  return `0x${id.toString(16).padStart(64, "0")}`;
}

/** The patient a delegate acts for (`--patient`), or undefined when the signer is the patient. */
export function forPatient(value: string | undefined): string | undefined {
  return value?.trim() ? parseAddress(value, "patient") : undefined;
}

/** A receipt as the JSON output gives it. */
export function receiptJson(receipt: { hash: string; blockNumber: number; gasUsed: bigint }) {
  return { transaction: receipt.hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed };
}

/** The help of `--patient` for tasks a delegate may run for a patient. */
export const FOR_PATIENT_HELP =
  "The patient, when --from is a delegate acting for them (default: --from is the patient)";

/** The help of `--from` for tasks any account may run. */
export const FROM_HELP =
  "The account that signs: an index into the network's accounts or one of their addresses (default 0)";
