/**
 * Issue 15, "done when": `npm run demo:privacy -- --network localhost` runs on a node started beforehand (Anvil here,
 * on a free port), then everything is checked against the node's blocks, transactions and logs only:
 * - no log topic or data word, and no transaction input, holds keccak256 of a known category code (except "*");
 * - no transaction (from, to, input) or log of the story holds the patient's main address;
 * - `verify` with the plain SHA-256 of the demo's files says not anchored (for the main address and every pseudonym),
 *   and with the file and its salt says anchored;
 * - the clinics' checks with their relationship keys, and the patient's listing by name from the wallet alone, work.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet, getBytes, sha256 } from "ethers";

import {
  ANY_CATEGORY,
  Action,
  CATEGORY_CODES,
  PatientPrivacy,
  Purpose,
  categoryId,
  connect,
  parseRecordSalt,
  parseRelationship,
  relationshipCategoryId,
  verifySaltedFile,
  type Deployment,
} from "../../src";
import { anvilDevKey, rpc, runHardhat, startAnvil, type AnvilNode } from "../helpers/anvil";

interface RpcTx {
  hash: string;
  from: string;
  to: string | null;
  input: string;
}
interface RpcLog {
  address: string;
  topics: string[];
  data: string;
}

describe("Privacy mode: the demo on a real node, checked from its blocks and logs", function () {
  this.timeout(180_000);

  let anvil: AnvilNode | undefined;
  let dir: string;
  let summary: {
    deployment: Deployment;
    patient: string;
    clinics: string[];
    pseudonyms: string[];
    files: { signed: string[]; record: string; salt: string };
  };
  const txs: RpcTx[] = [];
  const logs: RpcLog[] = [];

  before(async function () {
    anvil = await startAnvil();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "consent-privacy-e2e-"));
    const result = await runHardhat(
      ["run", "--no-compile", "scripts/demo-privacy.ts", "--network", "localhost"],
      { LOCALHOST_RPC_URL: anvil.url, PRIVACY_DEMO_DIR: dir },
      150_000,
    );
    if (result.code !== 0) throw new Error(`demo:privacy failed (${result.code}): ${result.stderr || result.stdout}`);
    expect(result.stdout).to.contain("lists everything by name");
    summary = JSON.parse(fs.readFileSync(path.join(dir, "summary.json"), "utf8")) as typeof summary;

    const latest = Number(await rpc<string>(anvil.url, "eth_blockNumber"));
    for (let n = 0; n <= latest; n++) {
      const block = await rpc<{ transactions: RpcTx[] }>(anvil.url, "eth_getBlockByNumber", [
        `0x${n.toString(16)}`,
        true,
      ]);
      txs.push(...block.transactions);
    }
    logs.push(...(await rpc<RpcLog[]>(anvil.url, "eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }])));
  });

  after(async function () {
    await anvil?.stop();
  });

  it("ran the story in transactions of the registrar and the clinics only", function () {
    expect(txs.length).to.be.greaterThan(5);
    expect(logs.length).to.be.greaterThan(4);
    const senders = new Set(txs.map((tx) => tx.from.toLowerCase()));
    expect([...senders].sort()).to.deep.equal(
      [anvilAddress(0), summary.clinics[0], summary.clinics[1]].map((a) => a.toLowerCase()).sort(),
    );
  });

  it("puts no public category id in any log topic, log data word or transaction input (except '*')", function () {
    const ids = new Set(CATEGORY_CODES.map((code) => categoryId(code).toLowerCase()));
    expect(ids.has(ANY_CATEGORY)).to.equal(false);
    for (const log of logs) {
      for (const topic of log.topics) expect(ids.has(topic.toLowerCase()), `topic ${topic}`).to.equal(false);
      for (const word of words(log.data)) expect(ids.has(word), `data word ${word}`).to.equal(false);
    }
    for (const tx of txs) {
      for (const id of ids) expect(tx.input.toLowerCase()).to.not.contain(id.slice(2));
    }
  });

  it("never shows the patient's main address in a transaction or a log", function () {
    const main = summary.patient.slice(2).toLowerCase();
    for (const tx of txs) {
      expect(tx.from.toLowerCase()).to.not.contain(main);
      expect((tx.to ?? "").toLowerCase()).to.not.contain(main);
      expect(tx.input.toLowerCase()).to.not.contain(main);
    }
    for (const log of logs) {
      expect([log.address, ...log.topics, log.data].join("").toLowerCase()).to.not.contain(main);
    }
  });

  it("says not anchored for the plain SHA-256 of the demo's file, and anchored with its salt", async function () {
    const provider = new JsonRpcProvider(anvil!.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const reader = connect(provider, summary.deployment);
    const file = new Uint8Array(fs.readFileSync(summary.files.record));
    const plain = sha256(file);
    for (const account of [summary.patient, ...summary.pseudonyms]) {
      const [anchored] = await reader.records.verify(account, plain);
      expect(anchored, account).to.equal(false);
    }
    for (const log of logs) expect(log.data.toLowerCase()).to.not.contain(plain.slice(2));
    const salt = parseRecordSalt(fs.readFileSync(summary.files.salt, "utf8"));
    expect((await verifySaltedFile(reader.records, salt.patient, file, salt.salt)).anchored).to.equal(true);
    expect(getBytes(salt.salt).length).to.equal(32);
    provider.destroy();
  });

  it("answers the clinics' checks with their relationship keys, and lists everything by name for the patient", async function () {
    const provider = new JsonRpcProvider(anvil!.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const reader = connect(provider, summary.deployment);
    const codes = ["laboratory", "mental-health"];
    for (const [i, file] of summary.files.signed.entries()) {
      const relationship = parseRelationship(fs.readFileSync(file, "utf8"));
      expect(relationship.patient).to.equal(summary.pseudonyms[i]);
      const id = relationshipCategoryId(relationship, codes[i]);
      expect(
        await reader.isAuthorized(relationship.patient, summary.clinics[i], id, Purpose.TREAT, Action.ACCESS),
      ).to.equal(true);
      const other = relationshipCategoryId(relationship, codes[1 - i]);
      expect(
        await reader.isAuthorized(relationship.patient, summary.clinics[i], other, Purpose.TREAT, Action.ACCESS),
      ).to.equal(false);
    }
    // The patient's wallet alone (the same key as the node's account 1) finds every pseudonym and name again.
    const wallet = new Wallet(anvilDevKey(1), provider);
    const privacy = await PatientPrivacy.fromWallet(connect(wallet, summary.deployment));
    const listing = await privacy.list();
    expect(listing.consents.map((c) => [c.account, c.grantee, c.categoryCode])).to.have.deep.members([
      [summary.pseudonyms[0], summary.clinics[0], "laboratory"],
      [summary.pseudonyms[1], summary.clinics[1], "mental-health"],
    ]);
    expect(listing.accesses.map((a) => [a.account, a.categoryCode])).to.deep.equal([
      [summary.pseudonyms[0], "laboratory"],
    ]);
    expect(listing.records.map((r) => [r.account, r.categoryCode])).to.deep.equal([
      [summary.pseudonyms[0], "laboratory"],
    ]);
    provider.destroy();
  });
});

function anvilAddress(index: number): string {
  return new Wallet(anvilDevKey(index)).address;
}

/** The 32-byte words of ABI-encoded data. */
function words(data: string): string[] {
  const hex = data.slice(2).toLowerCase();
  const out: string[] = [];
  for (let i = 0; i + 64 <= hex.length; i += 64) out.push(`0x${hex.slice(i, i + 64)}`);
  return out;
}
