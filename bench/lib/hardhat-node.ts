/**
 * A Hardhat node (`hardhat node`, EDR) on a free loopback port, for benchmarks that need many blocks: its
 * `hardhat_mine` reserves a run of empty blocks in constant time, where Anvil mines them one by one.
 */
import { spawn } from "node:child_process";

import { freePort, PROJECT_ROOT, rpc } from "../../test/helpers/anvil";

export interface HardhatNode {
  url: string;
  stop(): Promise<void>;
}

export async function startHardhatNode(timeoutMs = 60_000): Promise<HardhatNode> {
  const port = await freePort();
  const cli = require.resolve("hardhat/internal/cli/bootstrap.js");
  const child = spawn(process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: PROJECT_ROOT,
    stdio: "ignore",
    detached: true,
  });
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => kill("SIGKILL");
  process.on("exit", onExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    kill("SIGKILL");
    process.off("exit", onExit);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await rpc<string>(url, "eth_chainId");
      return { url, stop };
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw new Error(`The Hardhat node did not start on ${url}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
