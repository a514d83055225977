/**
 * The indexer (indexer/, Ponder) against the chain: a node, the registries, a few hundred mixed operations, the
 * indexer started on them; then every consent row must equal `consentOf` key by key, and every patient's event
 * list from the indexer must equal the logs-based history event by event.
 *
 * `npm test` runs it on the embedded PGlite. `npm run test:indexer` (INDEXER_TESTS=full, run by .ci/run) runs it on
 * a real Postgres server instead (a cluster started here on a free port), and kills the indexer mid-scenario to
 * check that it resumes without duplicates or loss.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Interface } from "ethers";

import { IConsentRegistry__factory, IProviderRegistry__factory, IRecordRegistry__factory } from "../../typechain-types";
import { ConsentStatus } from "../../src/codes";
import { connect } from "../../src/client";
import { replayConsents, type HistoryEvent } from "../../src/history";
import { IndexerHistorySource, IndexerLagError } from "../../src/history-source";
import { deploymentPath, type Deployment } from "../../src/deployment";
import { PROJECT_ROOT, runHardhat, startAnvil, type AnvilNode } from "../helpers/anvil";
import { actors, runScenario, setUp, type Actors } from "./scenario";
import {
  deployOverRpc,
  startIndexer,
  startPostgres,
  waitForIndexer,
  type IndexerProcess,
  type PostgresCluster,
} from "./helpers";

const FULL = process.env.INDEXER_TESTS === "full";
const OPERATIONS = Number(process.env.INDEXER_OPERATIONS ?? (FULL ? 400 : 300));

interface ConsentRow {
  patient: string;
  grantee: string;
  category: string;
  purposes: number;
  actions: number;
  notBefore: string;
  expiresAt: string;
  issuedAt: string;
  epoch: string;
  decision: number;
  sequence: string;
  status: string;
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) throw new Error(body.errors?.map((e) => e.message).join("; ") ?? "no data");
  return body.data;
}

/** Every consent row, page by page (1,000 at most a page). */
async function consentRows(url: string): Promise<ConsentRow[]> {
  const rows: ConsentRow[] = [];
  let after: string | null = null;
  for (;;) {
    const data: {
      consents: { items: ConsentRow[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    } = await graphql(
      url,
      `
        query ($after: String) {
          consents(limit: 1000, after: $after) {
            items {
              patient
              grantee
              category
              purposes
              actions
              notBefore
              expiresAt
              issuedAt
              epoch
              decision
              sequence
              status
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      `,
      { after },
    );
    rows.push(...data.consents.items);
    if (!data.consents.pageInfo.hasNextPage) return rows;
    after = data.consents.pageInfo.endCursor;
  }
}

/** The status a row says at time `now`, as the contract computes it. */
function rowStatus(row: ConsentRow, now: number): ConsentStatus {
  if (row.status === "denied") return ConsentStatus.Denied;
  if (row.status === "revoked") return ConsentStatus.Revoked;
  if (now < Number(row.notBefore)) return ConsentStatus.Pending;
  if (now >= Number(row.expiresAt)) return ConsentStatus.Expired;
  return ConsentStatus.Active;
}

/** Checks the indexer at `url` against the chain: consents key by key, histories event by event. */
async function checkConsistency(url: string, deployment: Deployment, a: Actors): Promise<void> {
  const reader = connect(a.provider, deployment);
  const indexed = connect(a.provider, deployment, { history: url, maxIndexerLagBlocks: 0 });
  const block = await a.provider.getBlock("latest");
  if (!block) throw new Error("no block");
  const rows = await consentRows(url);
  expect(rows.length).to.be.greaterThan(20);

  // Every row equals consentOf, key by key, with the status the contract gives at the latest block.
  await Promise.all(
    rows.map(async (row) => {
      const [c, status] = await reader.consents.consentOf(row.patient, row.grantee, row.category, {
        blockTag: block.number,
      });
      const where = `${row.patient} ${row.grantee} ${row.category}`;
      expect(
        {
          purposes: row.purposes,
          actions: row.actions,
          notBefore: Number(row.notBefore),
          expiresAt: Number(row.expiresAt),
          issuedAt: Number(row.issuedAt),
          epoch: Number(row.epoch),
          decision: row.decision,
          sequence: Number(row.sequence),
          status: rowStatus(row, block.timestamp),
        },
        where,
      ).to.deep.equal({
        purposes: Number(c.purposes),
        actions: Number(c.actions),
        notBefore: Number(c.notBefore),
        expiresAt: Number(c.expiresAt),
        issuedAt: Number(c.issuedAt),
        epoch: Number(c.epoch),
        decision: Number(c.decision),
        sequence: Number(c.sequence),
        status: Number(status),
      });
    }),
  );

  for (const patient of a.patients) {
    // The same keys as the logs-based replay: no consent missing, none extra.
    const replayed = replayConsents(await reader.consentHistory(patient.address), block.timestamp);
    const keys = (items: { grantee: string; category: string }[]) =>
      items.map((c) => `${c.grantee.toLowerCase()}:${c.category.toLowerCase()}`).sort();
    expect(keys(rows.filter((r) => r.patient.toLowerCase() === patient.address.toLowerCase())), "keys").to.deep.equal(
      keys(replayed),
    );

    // Event by event: the indexer's history equals the logs'.
    const fromLogs: HistoryEvent[] = [
      ...(await reader.consentHistory(patient.address)),
      ...(await reader.accessHistory(patient.address)),
    ];
    const fromIndexer: HistoryEvent[] = [
      ...(await indexed.consentHistory(patient.address)),
      ...(await indexed.accessHistory(patient.address)),
    ];
    expect(fromIndexer.length).to.be.greaterThan(10);
    expect(fromIndexer).to.deep.equal(fromLogs);
  }
}

/** Every row of the patient event table, to look for duplicates. */
async function patientEventIds(url: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const data: {
      patientEvents: { items: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    } = await graphql(
      url,
      `
        query ($after: String) {
          patientEvents(limit: 1000, after: $after, orderBy: "id") {
            items {
              id
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      `,
      { after },
    );
    ids.push(...data.patientEvents.items.map((item) => item.id));
    if (!data.patientEvents.pageInfo.hasNextPage) return ids;
    after = data.patientEvents.pageInfo.endCursor;
  }
}

describe("Indexer", function () {
  this.timeout(600_000);

  describe("its ABI", function () {
    it("should list every event of the registries' interfaces, with the same signatures", function () {
      // indexer/ is an ES module package: read its event signatures as text rather than require() it.
      const source = fs.readFileSync(path.join(PROJECT_ROOT, "indexer", "abis", "index.ts"), "utf8");
      const abis = [...source.matchAll(/export const (\w+)Abi = parseAbi\(\[([\s\S]*?)\]\);/g)];
      const events = new Map(abis.map((m) => [m[1], [...m[2].matchAll(/"(event [^"]+)"/g)].map((e) => e[1])]));
      const compiledInterfaces: [string, Interface][] = [
        ["ConsentRegistry", IConsentRegistry__factory.createInterface() as unknown as Interface],
        ["ProviderRegistry", IProviderRegistry__factory.createInterface() as unknown as Interface],
        ["RecordRegistry", IRecordRegistry__factory.createInterface() as unknown as Interface],
      ];
      for (const [name, contract] of compiledInterfaces) {
        const compiled: string[] = [];
        contract.forEachEvent((event) => compiled.push(event.topicHash));
        const indexed: string[] = [];
        new Interface(events.get(name) ?? []).forEachEvent((event) => indexed.push(event.topicHash));
        expect(indexed.sort(), name).to.deep.equal(compiled.sort());
      }
    });
  });

  /** The consistency test on one database: PGlite, or Postgres when `postgres` is given. */
  function consistency(database: "pglite" | "postgres") {
    describe(`on ${database === "pglite" ? "the embedded PGlite" : "a real Postgres server"}`, function () {
      let anvil: AnvilNode | undefined;
      let a: Actors;
      let deployment: Deployment;
      let dir: string;
      let indexer: IndexerProcess | undefined;
      let postgres: PostgresCluster | undefined;

      before(async function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "consent-indexer-"));
        anvil = await startAnvil();
        a = actors(anvil.url);
        deployment = await deployOverRpc(a.registrar, dir);
        const start = async () => {
          if (database === "postgres") postgres = await startPostgres();
          indexer = await startIndexer({
            deploymentFile: deploymentPath("anvil", dir),
            rpcUrl: anvil!.url,
            pgliteDir: path.join(dir, "pglite"),
            databaseUrl: postgres?.url,
          });
        };
        // On PGlite the indexer follows the scenario live; on Postgres it starts afterwards and backfills.
        const starting = database === "pglite" ? start() : undefined;
        await setUp(deployment, a);
        const state = await runScenario(deployment, a, OPERATIONS, 16);
        expect(state.done).to.be.greaterThan(OPERATIONS / 2);
        await (starting ?? start());
        await waitForIndexer(indexer!.url, await a.provider.getBlockNumber());
      });

      after(async function () {
        await indexer?.stop();
        await postgres?.stop();
        await anvil?.stop();
        a?.provider.destroy();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
      });

      it("should hold every consent as consentOf says, and every patient's events as the logs say", async function () {
        await checkConsistency(indexer!.url, deployment, a);
      });

      it("should follow new blocks, and refuse an answer it has not caught up with", async function () {
        const patient = a.patients[2];
        await connect(patient, deployment).setEmergencyAccess(false);
        await waitForIndexer(indexer!.url, await a.provider.getBlockNumber(), 30_000);
        const history = await connect(a.provider, deployment, { history: indexer!.url }).consentHistory(
          patient.address,
        );
        expect(history.at(-1)).to.deep.include({ kind: "EmergencyAccessSet", allowed: false });

        // An indexer that reports an older block than the node's by more than the limit is refused.
        const lagging = new IndexerHistorySource(indexer!.url, {
          maxLagBlocks: 3,
          fetch: async (input, init) => {
            const response = await fetch(input, init);
            if (!String(input).endsWith("/status")) return response;
            const status = (await response.json()) as Record<string, { block: { number: number } }>;
            for (const chain of Object.values(status)) chain.block.number -= 10;
            return new Response(JSON.stringify(status), { status: 200 });
          },
        });
        const client = connect(a.provider, deployment, { history: lagging });
        const error = await client.consentHistory(patient.address).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(IndexerLagError);
        expect(String(error)).to.match(/10 blocks behind, more than the 3 allowed/);
        // Up to a block it has reached, its answer stands.
        const upTo = (await a.provider.getBlockNumber()) - 20;
        expect(await client.consentHistory(patient.address, { toBlock: upTo })).to.deep.equal(
          await connect(a.provider, deployment).consentHistory(patient.address, { toBlock: upTo }),
        );
      });

      it("should give the command line the same history with --indexer", async function () {
        if (database !== "pglite") this.skip();
        const patient = a.patients[0].address;
        const history = async (extra: string[]) => {
          const result = await runHardhat(
            ["consent:history", "--network", "anvil", "--patient", patient, "--json", ...extra],
            { ANVIL_RPC_URL: anvil!.url, DEPLOYMENTS_DIR: dir, INDEXER_URL: "" },
          );
          expect(result.code, result.stderr).to.equal(0);
          return JSON.parse(result.stdout) as { events: unknown[] };
        };
        const [fromIndexer, fromLogs] = await Promise.all([history(["--indexer", indexer!.url]), history([])]);
        expect(fromIndexer.events.length).to.be.greaterThan(10);
        expect(fromIndexer).to.deep.equal(fromLogs);
      });

      it("should serve only bounded, read-only queries", async function () {
        const url = indexer!.url;
        await expect(graphql(url, "{ patientEvents(limit: 5000) { items { id } } }")).to.be.rejectedWith(/limit/i);
        await expect(graphql(url, "mutation { x }")).to.be.rejected;
        const sql = (text: string) =>
          fetch(`${url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql: text, params: [] } }))}`);
        const unbounded = await sql("select * from patient_event");
        expect(unbounded.status).to.equal(400);
        expect(await unbounded.text()).to.match(/Unbounded query/);
        expect((await sql("select * from patient_event limit 100000")).status).to.equal(400);
        const bounded = await sql("select id from patient_event order by id limit 5");
        expect(bounded.status, await bounded.clone().text()).to.equal(200);
        expect(((await bounded.json()) as { rows: unknown[] }).rows).to.have.length(5);
        expect((await sql("delete from patient_event limit 1")).status).to.not.equal(200);
      });
    });
  }

  // npm test: PGlite. npm run test:indexer (INDEXER_TESTS=full): Postgres and the restart.
  if (!FULL) consistency("pglite");
  if (FULL) consistency("postgres");

  (FULL ? describe : describe.skip)("restarted mid-scenario", function () {
    let anvil: AnvilNode | undefined;
    let dir: string;
    let indexer: IndexerProcess | undefined;
    let a: Actors;

    after(async function () {
      await indexer?.stop();
      await anvil?.stop();
      a?.provider.destroy();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("should resume where it stopped, without duplicates or loss", async function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "consent-indexer-restart-"));
      anvil = await startAnvil();
      a = actors(anvil.url);
      const deployment = await deployOverRpc(a.registrar, dir);
      await setUp(deployment, a);
      const options = {
        deploymentFile: deploymentPath("anvil", dir),
        rpcUrl: anvil.url,
        pgliteDir: path.join(dir, "pglite"),
      };
      indexer = await startIndexer(options);
      const state = await runScenario(deployment, a, OPERATIONS / 2, 7);
      // Killed mid-stream, while it follows the chain (no clean shutdown).
      await indexer.stop("SIGKILL");
      await runScenario(deployment, a, OPERATIONS / 2, 8, state);
      indexer = await startIndexer(options);
      await waitForIndexer(indexer.url, await a.provider.getBlockNumber());
      // It resumed from its checkpoint in the same database, rather than starting over.
      expect(indexer.output()).to.include("Detected crash recovery");
      const ids = await patientEventIds(indexer.url);
      expect(new Set(ids).size).to.equal(ids.length);
      await checkConsistency(indexer.url, deployment, a);
    });
  });
});
