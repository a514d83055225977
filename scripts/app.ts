/**
 * `npm run app`: the web portal against a local chain, in one command.
 *
 * Serves Hardhat's in-process chain over JSON-RPC (like `npx hardhat node`; port 8545, or a free one when 8545 is
 * taken), deploys the registries with the project's deploy code, registers two demo providers (City Clinic, with
 * emergency capability, and Harbour Imaging) with their names in their metadata URI, starts Vite's dev server for
 * `app/` (or, with PORTAL_MODE=preview, builds the static site and serves the build), and prints the portal's URL,
 * the chain to add to a wallet, and the dev accounts to import. Ctrl-C stops everything.
 *
 * Environment: PORTAL_PORT (default 5173), PORTAL_RPC_PORT (default 8545), PORTAL_MODE (dev | preview). A last line
 * `PORTAL_READY {json}` is for the end-to-end test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { HDNodeWallet, Mnemonic } from "ethers";

import { Capability, connect } from "../src";
import { deployRegistries } from "./lib/deploy-registries";

/** Hardhat's (and Anvil's) default dev mnemonic: publicly known keys, for a local chain only. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const ROOT = path.resolve(__dirname, "..");

export const DEMO_PROVIDERS = [
  {
    index: 2,
    name: "City Clinic",
    identifier: "npi:demo-city-clinic",
    capabilities: Capability.TREATMENT | Capability.EMERGENCY,
  },
  { index: 3, name: "Harbour Imaging", identifier: "npi:demo-harbour-imaging", capabilities: Capability.TREATMENT },
] as const;

const ROLES: Record<number, string> = {
  0: "registrar (deployed the registries)",
  1: "patient",
  2: "City Clinic (registered provider, emergency capable)",
  3: "Harbour Imaging (registered provider)",
  4: "guardian (appoint it from the patient's view) or relayer",
};

function devKey(index: number): string {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`).privateKey;
}

/** The metadata URI naming a provider, as the portal reads it. */
function metadataForName(name: string): string {
  return `data:application/json,${encodeURIComponent(JSON.stringify({ name }))}`;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function pickPort(wanted: number): Promise<number> {
  if (wanted > 0 && (await portFree(wanted))) return wanted;
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === "object" ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function vite(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const bin = path.join(path.dirname(require.resolve("vite/package.json")), "bin", "vite.js");
  return spawn(process.execPath, [bin, ...args, "--config", path.join(ROOT, "app", "vite.config.ts")], {
    cwd: ROOT,
    env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: "true", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`, "g");

function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

/** Waits until `child` prints a line matching `ready`, echoing nothing (its output is kept for errors). */
function waitFor(child: ChildProcess, ready: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(stripAnsi(output))) resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${what} exited with code ${code}:\n${output}`)));
  });
}

async function main(): Promise<void> {
  const mode = process.env.PORTAL_MODE === "preview" ? "preview" : "dev";
  const rpcPort = await pickPort(Number(process.env.PORTAL_RPC_PORT ?? 8545));
  const portalPort = await pickPort(Number(process.env.PORTAL_PORT ?? 5173));

  const server = await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: "127.0.0.1",
    port: rpcPort,
    provider: hre.network.provider,
  });
  await server.listen();
  const rpcUrl = `http://127.0.0.1:${rpcPort}`;

  const deployment = await deployRegistries(hre);
  const [registrar] = await hre.ethers.getSigners();
  const asRegistrar = connect(registrar, deployment);
  const signers = await hre.ethers.getSigners();
  for (const p of DEMO_PROVIDERS) {
    await asRegistrar.registerProvider(signers[p.index].address, p.identifier, p.capabilities, metadataForName(p.name));
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "consent-anchor-portal-"));
  const deploymentFile = path.join(work, "deployment.json");
  fs.writeFileSync(deploymentFile, `${JSON.stringify({ ...deployment, network: "localhost" }, null, 2)}\n`);
  const env = { PORTAL_LOCAL_DEPLOYMENT: deploymentFile, PORTAL_OUT_DIR: path.join(work, "site") };

  const children: ChildProcess[] = [];
  const stop = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once("exit", stop);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stop();
      process.exit(0);
    });
  }

  const hostArgs = ["--host", "127.0.0.1", "--port", String(portalPort), "--strictPort"];
  if (mode === "preview") {
    const build = vite(["build"], env);
    children.push(build);
    await waitFor(build, /built in/, "vite build");
  }
  const served = vite(mode === "preview" ? ["preview", ...hostArgs] : hostArgs, env);
  children.push(served);
  await waitFor(served, /Local:\s+http/, `vite ${mode}`);
  const url = `http://127.0.0.1:${portalPort}/`;

  const accounts = signers.slice(0, 5).map((signer, index) => ({
    index,
    address: signer.address,
    privateKey: devKey(index),
    role: ROLES[index],
  }));
  console.log("");
  console.log(`Consent Anchor portal: ${url}`);
  console.log("");
  console.log(`Local chain: ${rpcUrl} (chain id 31337). In your wallet, add this network (RPC URL ${rpcUrl},`);
  console.log(
    "chain id 31337, currency ETH), then import the accounts you want to play. These keys are public dev keys:",
  );
  console.log("never send real funds to them.");
  console.log("");
  for (const a of accounts) console.log(`  #${a.index} ${a.address}  ${a.privateKey}  ${a.role}`);
  console.log("");
  console.log(
    `Registries: consent ${deployment.consentRegistry}, provider ${deployment.providerRegistry}, record ${deployment.recordRegistry}`,
  );
  console.log("Ctrl-C stops the chain and the portal (the chain keeps nothing).");
  console.log(`PORTAL_READY ${JSON.stringify({ url, rpcUrl, deployment, accounts })}`);

  await new Promise<never>(() => undefined);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
