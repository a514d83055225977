/**
 * The indexer as a history source: a patient's events read from the consent-anchor indexer (indexer/, Ponder) over
 * its GraphQL API, in bounded pages, instead of walking every block since the deployment with `eth_getLogs`. The
 * events are the same typed events the logs give ({@link toEvent} decodes both).
 *
 * An indexer may lag the node: before answering, the source compares the block the indexer has indexed (its
 * `/status`) with the node's latest block, and refuses with {@link IndexerLagError} when the indexer is more than
 * `maxLagBlocks` behind (a history asked up to an explicit `toBlock` the indexer has reached is always current).
 */
import { getAddress, type LogDescription } from "ethers";

import type { ConsentRegistry } from "../typechain-types";
import { toEvent, type HistoryEvent, type HistoryEventKind, type HistorySource } from "./history";

/** The default number of blocks an indexer may lag the node before its answer is refused as not current. */
export const DEFAULT_MAX_INDEXER_LAG_BLOCKS = 5;
/** Rows per GraphQL page: Ponder's maximum. */
export const INDEXER_PAGE_SIZE = 1_000;

export interface IndexerSourceOptions {
  /** How many blocks the indexer may be behind the node (default 5). */
  maxLagBlocks?: number;
  /** Rows per page, 1 to 1,000 (default 1,000). */
  pageSize?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** How far an indexer has indexed: its chain's id and latest indexed block. */
export interface IndexerStatus {
  chainId: number;
  block: number;
  timestamp: number;
}

/** The indexer is too far behind the node for its answer to be presented as current. */
export class IndexerLagError extends Error {
  constructor(
    readonly url: string,
    readonly indexedBlock: number,
    readonly nodeBlock: number,
    readonly maxLagBlocks: number,
  ) {
    super(
      `The indexer at ${url} has indexed up to block ${indexedBlock} but the node is at block ${nodeBlock}: ` +
        `${nodeBlock - indexedBlock} blocks behind, more than the ${maxLagBlocks} allowed, so its history would ` +
        "not be current. Wait for it to catch up, raise maxLagBlocks, or read the node's logs instead",
    );
    this.name = "IndexerLagError";
  }
}

interface PatientEventRow {
  id: string;
  kind: string;
  blockNumber: string;
  logIndex: number;
  timestamp: string;
  txHash: string;
  args: Record<string, unknown>;
}

const PATIENT_EVENTS_QUERY = `query PatientEvents($where: patientEventFilter, $limit: Int, $after: String) {
  patientEvents(where: $where, orderBy: "id", orderDirection: "asc", limit: $limit, after: $after) {
    items { id kind blockNumber logIndex timestamp txHash args }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** A patient's history read from the consent-anchor indexer at `url` (its GraphQL API and /status). */
export class IndexerHistorySource implements HistorySource {
  readonly name = "indexer";
  readonly url: string;
  readonly maxLagBlocks: number;
  readonly pageSize: number;
  private readonly fetcher: typeof fetch;

  constructor(url: string, options: IndexerSourceOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`Invalid indexer URL "${url}": use http(s)://host:port`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new Error(`Invalid indexer URL "${url}": use http(s)://host:port`);
    }
    this.url = url.replace(/\/+$/, "");
    this.maxLagBlocks = options.maxLagBlocks ?? DEFAULT_MAX_INDEXER_LAG_BLOCKS;
    if (!Number.isSafeInteger(this.maxLagBlocks) || this.maxLagBlocks < 0) {
      throw new Error(`Invalid maxLagBlocks ${this.maxLagBlocks}: use a whole number >= 0`);
    }
    this.pageSize = options.pageSize ?? INDEXER_PAGE_SIZE;
    if (!Number.isSafeInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > INDEXER_PAGE_SIZE) {
      throw new Error(`Invalid pageSize ${this.pageSize}: use 1 to ${INDEXER_PAGE_SIZE}`);
    }
    this.fetcher = options.fetch ?? fetch;
  }

  private async request(path: string, init?: RequestInit): Promise<Response> {
    try {
      return await this.fetcher(`${this.url}${path}`, init);
    } catch (error) {
      throw new Error(`The indexer at ${this.url} did not answer: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** How far the indexer has indexed (its /status). */
  async status(): Promise<IndexerStatus> {
    const response = await this.request("/status");
    if (!response.ok) throw new Error(`The indexer at ${this.url} answered /status with HTTP ${response.status}`);
    const body = (await response.json()) as Record<
      string,
      { id: number; block?: { number: number; timestamp: number } }
    >;
    const chains = Object.values(body);
    if (chains.length === 0 || !chains[0].block) {
      throw new Error(`The indexer at ${this.url} has not indexed any block yet`);
    }
    return { chainId: chains[0].id, block: chains[0].block.number, timestamp: chains[0].block.timestamp };
  }

  /**
   * Checks that the indexer indexes `chainId` and is current: at most `maxLagBlocks` behind `nodeBlock` (or past
   * `toBlock` when one is asked). Returns its status.
   */
  async checkCurrent(nodeBlock: number, chainId?: number, toBlock?: number): Promise<IndexerStatus> {
    const status = await this.status();
    if (chainId !== undefined && status.chainId !== chainId) {
      throw new Error(`The indexer at ${this.url} indexes chain ${status.chainId}, not chain ${chainId}`);
    }
    if (toBlock !== undefined && status.block >= toBlock) return status;
    if (nodeBlock - status.block > this.maxLagBlocks) {
      throw new IndexerLagError(this.url, status.block, nodeBlock, this.maxLagBlocks);
    }
    return status;
  }

  private async graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await this.request("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: { message: string }[] };
    if (!response.ok || body.errors?.length || !body.data) {
      const reason = body.errors?.map((e) => e.message).join("; ") ?? `HTTP ${response.status}`;
      throw new Error(`The indexer at ${this.url} refused the query: ${reason}`);
    }
    return body.data;
  }

  async patientEvents(
    consents: ConsentRegistry,
    patient: string,
    kinds: readonly HistoryEventKind[],
    range: { fromBlock: number; toBlock?: number },
  ): Promise<HistoryEvent[]> {
    const provider = consents.runner?.provider;
    // The lag check runs alongside the query (one round trip to the node, one to the indexer, in parallel); the
    // answer is returned only once it passed.
    const current = (async () => {
      if (!provider) return;
      const [latest, network] = await Promise.all([provider.getBlock("latest"), provider.getNetwork()]);
      if (latest) await this.checkCurrent(latest.number, Number(network.chainId), range.toBlock);
    })();
    const [events] = await Promise.all([this.readEvents(patient, kinds, range), current]);
    return events;
  }

  private async readEvents(
    patient: string,
    kinds: readonly HistoryEventKind[],
    range: { fromBlock: number; toBlock?: number },
  ): Promise<HistoryEvent[]> {
    const who = getAddress(patient);
    const where: Record<string, unknown> = {
      patient: who.toLowerCase(),
      kind_in: [...kinds],
      blockNumber_gte: String(range.fromBlock),
    };
    if (range.toBlock !== undefined) where.blockNumber_lte = String(range.toBlock);
    const events: HistoryEvent[] = [];
    let after: string | undefined;
    for (;;) {
      const data = await this.graphql<{
        patientEvents: { items: PatientEventRow[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
      }>(PATIENT_EVENTS_QUERY, { where, limit: this.pageSize, after });
      for (const row of data.patientEvents.items) {
        const event = toEvent({ name: row.kind, args: row.args } as unknown as LogDescription, {
          blockNumber: Number(row.blockNumber),
          txHash: row.txHash,
          logIndex: row.logIndex,
          timestamp: Number(row.timestamp),
          patient: who,
        });
        if (event) events.push(event);
      }
      const { hasNextPage, endCursor } = data.patientEvents.pageInfo;
      if (!hasNextPage || !endCursor) break;
      after = endCursor;
    }
    return events;
  }
}

/** A history source from an option: "logs" (or nothing) for the node's logs, else an indexer URL. */
export function historySource(
  source: string | HistorySource | undefined,
  options: IndexerSourceOptions = {},
): HistorySource | "logs" {
  if (source === undefined || source === "logs" || source === "") return "logs";
  if (typeof source !== "string") return source;
  return new IndexerHistorySource(source, options);
}
