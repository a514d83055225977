/**
 * The SDK's indexer history source without an indexer: its options, and its lag check against a stub /status.
 */
import { expect } from "chai";

import { IndexerHistorySource, IndexerLagError, historySource } from "../../src/history-source";

function stubStatus(block: number, chainId = 31337): typeof fetch {
  return async () => new Response(JSON.stringify({ chain: { id: chainId, block: { number: block, timestamp: 1 } } }));
}

describe("IndexerHistorySource", function () {
  it("should read the node's logs unless given an indexer URL", function () {
    expect(historySource(undefined)).to.equal("logs");
    expect(historySource("logs")).to.equal("logs");
    const source = historySource("http://localhost:42069/", { maxLagBlocks: 2 });
    expect(source).to.be.instanceOf(IndexerHistorySource);
    expect((source as IndexerHistorySource).url).to.equal("http://localhost:42069");
  });

  it("should refuse a URL that is not http(s), a negative lag and an unbounded page", function () {
    expect(() => new IndexerHistorySource("localhost:42069")).to.throw(/Invalid indexer URL/);
    expect(() => new IndexerHistorySource("ftp://x")).to.throw(/Invalid indexer URL/);
    expect(() => new IndexerHistorySource("http://x", { maxLagBlocks: -1 })).to.throw(/maxLagBlocks/);
    expect(() => new IndexerHistorySource("http://x", { pageSize: 1001 })).to.throw(/pageSize/);
  });

  it("should accept an indexer within the lag allowed, and refuse one further behind or of another chain", async function () {
    const source = new IndexerHistorySource("http://x", { maxLagBlocks: 5, fetch: stubStatus(95) });
    expect(await source.checkCurrent(100, 31337)).to.deep.equal({ chainId: 31337, block: 95, timestamp: 1 });
    const error = await source.checkCurrent(101, 31337).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(IndexerLagError);
    expect(String(error)).to.include("indexed up to block 95 but the node is at block 101: 6 blocks behind");
    // Up to a block it has reached, it is current.
    expect(await source.checkCurrent(1000, 31337, 90)).to.deep.include({ block: 95 });
    await expect(source.checkCurrent(95, 1)).to.be.rejectedWith(/indexes chain 31337, not chain 1/);
  });

  it("should say when the indexer does not answer", async function () {
    const source = new IndexerHistorySource("http://127.0.0.1:9", {
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
    });
    await expect(source.status()).to.be.rejectedWith(
      /The indexer at http:\/\/127.0.0.1:9 did not answer: fetch failed/,
    );
  });
});
