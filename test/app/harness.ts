/**
 * What the portal's browser tests share: `npm run app`'s stack (a local chain with the registries and two named demo
 * providers, and the built site served by Vite's preview server), Debian's Chromium driven by playwright-core with
 * the injected test wallets, and the page helpers (sections by heading, waiting for a transaction, axe-core).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";

import type { Deployment } from "../../src";
import { SendGate, forwardToNode, testWalletScript, type TestWallet } from "./wallet";

export const CHROMIUM = process.env.PORTAL_CHROMIUM ?? "/usr/bin/chromium";
export const ROOT = path.resolve(__dirname, "..", "..");
/** Screenshots of each view (git-ignored). */
export const OUT = path.join(ROOT, "app", "test-results");
export const TX_TIMEOUT = 30_000;

/** The dev accounts (Hardhat's default mnemonic) the browser tests play; clinic and imaging are registered providers. */
export const ACCOUNT = {
  patient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  clinic: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  imaging: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  guardian: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
  relayer: "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
} as const;

/** The test wallet of `role`, announced as "Test Wallet (<role>)" with the rdns "test.<role>". */
export function testWallet(role: keyof typeof ACCOUNT, index: number): TestWallet {
  const n = String(index).padStart(4, "0");
  return {
    uuid: `0b7c1d1e-${n}-4000-8000-00000000${n}`,
    name: `Test Wallet (${role})`,
    rdns: `test.${role}`,
    account: ACCOUNT[role],
  };
}

export interface Stack {
  url: string;
  rpcUrl: string;
  deployment: Deployment;
}

/** Starts `npm run app`'s script in preview mode on free ports; resolves when it prints PORTAL_READY. */
export function startStack(): Promise<{ child: ChildProcess; stack: Stack }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [require.resolve("hardhat/internal/cli/cli.js"), "run", "scripts/app.ts", "--no-compile"],
      {
        cwd: ROOT,
        env: { ...process.env, PORTAL_MODE: "preview", PORTAL_PORT: "0", PORTAL_RPC_PORT: "0" },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((l) => l.startsWith("PORTAL_READY "));
      if (line) resolve({ child, stack: JSON.parse(line.slice("PORTAL_READY ".length)) as Stack });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`npm run app's script exited (${code}):\n${output}`)));
  });
}

export function stopStack(child: ChildProcess | undefined): void {
  if (child?.pid && child.exitCode === null) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/**
 * Chromium with one context whose pages get the test wallets (forwarding to the stack's node through `gate`).
 * `args` adds Chromium flags.
 */
export async function launchBrowser(
  stack: Stack,
  wallets: TestWallet[],
  gate: SendGate,
  args: string[] = [],
): Promise<{ browser: Browser; context: BrowserContext }> {
  fs.mkdirSync(OUT, { recursive: true });
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", ...args] });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: "en-GB",
    timezoneId: "Europe/Amsterdam",
  });
  context.setDefaultTimeout(15_000);
  await context.exposeFunction("__walletRpc", async (request: string) => {
    await gate.pass(request);
    return forwardToNode(stack.rpcUrl, request);
  });
  await context.addInitScript({ content: testWalletScript(wallets, 31337) });
  return { browser, context };
}

/** `npm run app`'s stack, Chromium with the test wallets, and a folder for downloads: what a browser test runs on. */
export interface Portal {
  stack: Stack;
  browser: Browser;
  context: BrowserContext;
  downloads: string;
  /** Closes the browser, stops the stack and removes the downloads. */
  stop(): Promise<void>;
}

export async function startPortal(wallets: TestWallet[], gate: SendGate, args: string[] = []): Promise<Portal> {
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), "portal-test-"));
  const { child, stack } = await startStack();
  try {
    const { browser, context } = await launchBrowser(stack, wallets, gate, args);
    return {
      stack,
      browser,
      context,
      downloads,
      stop: async () => {
        await browser.close();
        stopStack(child);
        fs.rmSync(downloads, { recursive: true, force: true });
      },
    };
  } catch (error) {
    stopStack(child);
    throw error;
  }
}

/** A page of the context, whose errors and console errors are printed with `role`. */
export async function openPage(context: BrowserContext, role: string): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.log(`    [${role} page error] ${error.stack ?? error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") console.log(`    [${role} console] ${message.text()}`);
  });
  return page;
}

/**
 * Brings `page` to the front before a step acts on it: a background tab renders no frames, and Playwright waits for
 * frames before each click (about 2 s a click in a background tab).
 */
export async function front(page: Page): Promise<void> {
  await page.bringToFront();
}

/** Screenshot of the view, then axe-core: no serious or critical violation. */
export async function audit(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
  if (!(await page.evaluate("typeof window.axe !== 'undefined'"))) {
    await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  }
  const result = (await page.evaluate("window.axe.run(document, { resultTypes: ['violations'] })")) as {
    violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
  };
  const serious = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(serious, `axe on ${name}`).to.deep.equal([]);
}

/** The section under the heading `title`. */
export function section(page: Page, title: string): Locator {
  return page.locator("section", { has: page.getByRole("heading", { name: title, exact: true }) });
}

/** Waits until the portal has redrawn its view (it marks the page aria-busy while it reads the chain). */
export async function settled(page: Page): Promise<void> {
  await page.locator('#app:not([aria-busy="true"])').waitFor({ state: "attached" });
}

/** Waits for the transaction labelled `label` to be confirmed (throws its failure), then for the redraw. */
export async function confirmed(page: Page, label: string | RegExp): Promise<void> {
  const failed = page.locator(".activity li.failed", { hasText: label });
  const ok = page.locator(".activity li.confirmed", { hasText: label }).first();
  await Promise.race([
    ok.waitFor({ timeout: TX_TIMEOUT }),
    failed
      .first()
      .waitFor({ timeout: TX_TIMEOUT })
      .then(async () => {
        throw new Error(`Transaction failed: ${await failed.first().textContent()}`);
      }),
  ]);
  await settled(page);
}

/** Polls `condition` until it holds (the view redraws after a transaction is confirmed). */
export async function until(condition: () => Promise<boolean>, timeout = TX_TIMEOUT): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error("Timed out waiting for the view to update");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Opens the portal and connects `wallet`; waits for the role line and the first view. */
export async function connectWallet(page: Page, url: string, wallet: string): Promise<void> {
  await front(page);
  await page.goto(url);
  await page.getByRole("button", { name: `Connect ${wallet}` }).click();
  await page.locator(".role").waitFor();
  await settled(page);
}
