/**
 * Starts and stops an Anvil node (Foundry's dev chain, a second client besides Hardhat's EDR) for end-to-end tests,
 * on a free loopback port. The node is killed on `stop()` and, whatever happens, when the test process exits.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { HDNodeWallet, Mnemonic } from "ethers";

/** Anvil's default dev mnemonic: its accounts are funded with 10,000 ETH each. Never use it outside a dev chain. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

/** The private key of Anvil's dev account `index` (derived from the default mnemonic, as Anvil does). */
export function anvilDevKey(index: number): string {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_MNEMONIC), `m/44'/60'/0'/0/${index}`).privateKey;
}

/**
 * The Anvil binary: `$ANVIL_BIN` if set; else the Linux x64 build that `npm ci` installs (the optional dependency
 * @foundry-rs/anvil-linux-amd64, the platform CI runs on); else an `anvil` on the PATH (Foundry's installer, on other
 * platforms). Throws a clear error when there is none.
 */
export function anvilBinary(): string {
  const candidates: string[] = [];
  if (process.env.ANVIL_BIN) candidates.push(process.env.ANVIL_BIN);
  try {
    candidates.push(
      path.join(path.dirname(require.resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil"),
    );
  } catch {
    // not installed on this platform
  }
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter((d) => d.length > 0)) {
    candidates.push(path.join(dir, exe));
  }
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) {
    throw new Error(
      `Anvil binary not found for ${process.platform}-${process.arch}: run \`npm ci\` (Linux x64 installs ` +
        "@foundry-rs/anvil-linux-amd64), or install Foundry's anvil on the PATH, or set ANVIL_BIN",
    );
  }
  return found;
}

/** A free TCP port on 127.0.0.1, found by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("Could not pick a free port"));
      });
    });
  });
}

export interface AnvilNode {
  url: string;
  port: number;
  chainId: number;
  process: ChildProcess;
  /** Stops the node (SIGTERM, then SIGKILL after 2 s); safe to call twice. */
  stop(): Promise<void>;
}

/** Every child process (node or CLI) started and not yet ended, killed when the process exits. */
const running = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  const killAll = () => {
    for (const child of running) child.kill("SIGKILL");
  };
  // 'exit' handlers must be synchronous: a SIGKILL is.
  process.on("exit", killAll);
  // A signal ends the process without 'exit': kill the children, then let the signal do what it would have done.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Calls `method` on the JSON-RPC endpoint `url`. */
export async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/** Starts Anvil on a free loopback port and waits until it answers JSON-RPC. */
export async function startAnvil(options: { args?: string[]; timeoutMs?: number } = {}): Promise<AnvilNode> {
  const binary = anvilBinary();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  installExitHandler();
  const child = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), ...(options.args ?? [])], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  let exited: string | undefined;
  child.once("exit", (code, signal) => {
    exited = `Anvil exited (code ${code}, signal ${signal})${stderr ? `: ${stderr.trim()}` : ""}`;
    running.delete(child);
  });
  child.once("error", (error) => {
    exited = `Anvil could not start: ${error.message}`;
    running.delete(child);
  });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
    await done;
    clearTimeout(timer);
    running.delete(child);
  };

  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (exited) throw new Error(exited);
    try {
      const chainId = Number(await rpc<string>(url, "eth_chainId"));
      return { url, port, chainId, process: child, stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Anvil did not answer on ${url} within ${options.timeoutMs ?? 15_000} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The project root (where hardhat.config.ts is). */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the Hardhat CLI (`npx hardhat <args>`, through the package's own bin script) in the project root with `env`
 * added to this process's environment, and collects its output. Kills it after `timeoutMs`.
 */
export function runHardhat(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CommandResult> {
  const cli = require.resolve("hardhat/internal/cli/bootstrap.js");
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.HARDHAT_NETWORK; // --network decides
  installExitHandler();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: PROJECT_ROOT, env: childEnv });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}
