/**
 * `npm run bench:history`: a patient's history through the node's logs and through the indexer, side by side.
 *
 * On a local Hardhat node: 10,000 consent events from 19 patients, spread over more than 200,000 blocks (a block of
 * transactions, then a run of empty blocks, which `hardhat_mine` reserves at once), one patient with about 500 of
 * them. The indexer (PGlite) indexes
 * them; then the history of that patient is read both ways through a JSON-RPC provider that waits 100 ms before
 * every call (a remote endpoint), and the ratio printed. The indexer's answer must be at least 20 times faster.
 *
 *   EVENTS=10000 BLOCKS=200000 RPC_DELAY_MS=100 npm run bench:history
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { JsonRpcProvider, Wallet, id as keccakText, type TransactionRequest } from "ethers";

import { ConsentRegistry__factory } from "../typechain-types";
import { connect } from "../src/client";
import { deploymentPath } from "../src/deployment";
import { anvilDevKey } from "../test/helpers/anvil";
import { deployOverRpc, startIndexer, waitForIndexer } from "../test/indexer/helpers";
import { startHardhatNode } from "./lib/hardhat-node";
import { SlowJsonRpcProvider } from "./lib/slow-rpc";

const EVENTS = Number(process.env.EVENTS ?? 10_000);
const BLOCKS = Number(process.env.BLOCKS ?? 200_000);
const DELAY = Number(process.env.RPC_DELAY_MS ?? 100);
const PATIENTS = 19;
const PER_BLOCK = 100;
const REQUIRED_RATIO = 20;
const CATEGORIES = ["laboratory", "imaging", "medications", "vital-signs"].map((c) => keccakText(c));

async function main() {
  const started = Date.now();
  const node = await startHardhatNode();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-history-"));
  const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  let indexer: Awaited<ReturnType<typeof startIndexer>> | undefined;
  try {
    const deployer = new Wallet(anvilDevKey(0), provider);
    const deployment = await deployOverRpc(deployer, dir);
    const patients = Array.from({ length: PATIENTS }, (_, i) => new Wallet(anvilDevKey(i + 1), provider));
    const target = patients[0];
    const registry = ConsentRegistry__factory.connect(deployment.consentRegistry, provider);
    const nonces = await Promise.all(patients.map((p) => provider.getTransactionCount(p.address)));
    const { chainId } = await provider.getNetwork();
    const fee = await provider.getFeeData();
    const expiresAt = (await provider.getBlock("latest"))!.timestamp + 3650 * 24 * 60 * 60;

    // Transactions go into blocks of PER_BLOCK, each followed by a run of empty blocks.
    await provider.send("evm_setAutomine", [false]);
    const batches = Math.ceil(EVENTS / PER_BLOCK);
    const gap = Math.max(1, Math.floor(BLOCKS / batches));
    let sent = 0;
    for (let b = 0; b < batches; b++) {
      const raw: string[] = [];
      for (let i = 0; i < PER_BLOCK && sent < EVENTS; i++, sent++) {
        const n = sent % PATIENTS;
        const grantee = ethers.zeroPadValue(ethers.toBeHex(1000 + (sent % 97)), 20);
        const data = registry.interface.encodeFunctionData("grant", [
          grantee,
          CATEGORIES[sent % CATEGORIES.length],
          1,
          2,
          0,
          expiresAt,
        ]);
        const tx: TransactionRequest = {
          to: deployment.consentRegistry,
          data,
          nonce: nonces[n]++,
          gasLimit: 200_000,
          chainId,
          type: 2,
          maxFeePerGas: fee.maxFeePerGas ?? 10n ** 10n,
          maxPriorityFeePerGas: fee.maxPriorityFeePerGas ?? 10n ** 9n,
        };
        raw.push(await patients[n].signTransaction(tx));
      }
      await Promise.all(raw.map((signed) => provider.send("eth_sendRawTransaction", [signed])));
      await provider.send("evm_mine", []);
      await provider.send("hardhat_mine", [ethers.toQuantity(gap)]);
      if ((b + 1) % 10 === 0) process.stdout.write(`\r  ${sent} events sent`);
    }
    // Blocks reserved by hardhat_mine are fine for eth_getLogs, but their hashes do not chain the way a live
    // indexer checks: end with real blocks, more than the 30 an indexer keeps unfinalized on a local chain.
    for (let i = 0; i < 64; i++) await provider.send("evm_mine", []);
    await provider.send("evm_setAutomine", [true]);
    const latest = await provider.getBlockNumber();
    console.log(
      `\r${EVENTS} events from ${PATIENTS} patients over ${latest - deployment.deploymentBlock} blocks ` +
        `(set up in ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );

    const indexStart = Date.now();
    indexer = await startIndexer({
      deploymentFile: deploymentPath("anvil", dir),
      rpcUrl: node.url,
      pgliteDir: path.join(dir, "pglite"),
      timeoutMs: 300_000,
    });
    await waitForIndexer(indexer.url, latest, 600_000);
    console.log(`The indexer caught up in ${((Date.now() - indexStart) / 1000).toFixed(0)} s`);

    const slow = new SlowJsonRpcProvider(node.url, DELAY);
    const time = async (label: string, history: string | undefined) => {
      const client = connect(slow, deployment, history ? { history } : {});
      slow.calls = 0;
      const t0 = performance.now();
      const events = [
        ...(await client.consentHistory(target.address)),
        ...(await client.accessHistory(target.address)),
      ];
      const ms = performance.now() - t0;
      console.log(
        `  ${label.padEnd(8)} ${ms.toFixed(0).padStart(7)} ms  ${slow.calls} RPC calls  ${events.length} events`,
      );
      return { ms, events };
    };
    console.log(`History of one patient, through a JSON-RPC endpoint answering in ${DELAY} ms a call:`);
    const logs = await time("logs", undefined);
    const indexed = await time("indexer", indexer.url);
    if (JSON.stringify(logs.events) !== JSON.stringify(indexed.events)) {
      throw new Error("The indexer's history differs from the logs'");
    }
    const ratio = logs.ms / indexed.ms;
    console.log(`Ratio: the indexer is ${ratio.toFixed(1)}x faster (required: ${REQUIRED_RATIO}x)`);
    slow.destroy();
    if (ratio < REQUIRED_RATIO) process.exitCode = 1;
  } finally {
    await indexer?.stop();
    await node.stop();
    provider.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
