/**
 * Runs the command-line tasks in-process, on Hardhat's in-process chain, as a user would run them: the registries
 * deployed by the deploy script's own code, a deployment file in a temporary DEPLOYMENTS_DIR, and each task's stdout,
 * stderr and exit code captured.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";

import { saveDeployment, type Deployment } from "../../src/deployment";
import { deployRegistries } from "../../scripts/lib/deploy-registries";

export interface TaskResult {
  stdout: string;
  stderr: string;
  /** The exit code the process would end with. */
  code: number;
}

/** A temporary folder, removed when the process exits. */
export function temporaryDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deploys the registries on the in-process chain and points the tasks at them. */
export async function deployForTasks(): Promise<{ deployment: Deployment; dir: string }> {
  const dir = temporaryDir("cli-deployments");
  const deployment = await deployRegistries(hre);
  saveDeployment(deployment, dir);
  process.env.DEPLOYMENTS_DIR = dir;
  return { deployment, dir };
}

/** Runs `name` with `args` (camelCase option names, flags as booleans) and captures what it prints. */
export async function runTask(name: string, args: Record<string, unknown> = {}): Promise<TaskResult> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => void out.push(parts.map(String).join(" "));
  console.error = (...parts: unknown[]) => void err.push(parts.map(String).join(" "));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await hre.run(name, args);
  } finally {
    console.log = log;
    console.error = error;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { stdout: out.join("\n"), stderr: err.join("\n"), code };
}

/** The JSON document a task printed with --json. */
export function jsonOf(result: TaskResult): Record<string, unknown> {
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** What the chain looks like now: its height and the nonce of `account` (a refused command must change neither). */
export async function chainState(account: string): Promise<{ block: number; nonce: number }> {
  const [block, nonce] = await Promise.all([
    hre.ethers.provider.getBlockNumber(),
    hre.ethers.provider.getTransactionCount(account),
  ]);
  return { block, nonce };
}
