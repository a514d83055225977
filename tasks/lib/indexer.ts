/**
 * The `--indexer URL` option of the history-reading tasks (consent:history, access:export): read the history from a
 * consent-anchor indexer instead of the node's logs. INDEXER_URL sets a default; `--indexer logs` forces the logs.
 * INDEXER_MAX_LAG (blocks, default 5) is how far the indexer may lag the node before its answer is refused.
 */
import type { HistoryOptions } from "../../src/history";
import { DEFAULT_MAX_INDEXER_LAG_BLOCKS, historySource } from "../../src/history-source";
import { UserError } from "../cli";

export const INDEXER_OPTION_HELP =
  'Read the history from the indexer at this URL (default: $INDEXER_URL; "logs" reads the node\'s logs)';

/** The history source the options and the environment ask for. */
export function historySourceOption(indexer: string | undefined): Pick<HistoryOptions, "source"> {
  const url = indexer?.trim() || process.env.INDEXER_URL?.trim();
  if (!url || url === "logs") return { source: "logs" };
  const lag = process.env.INDEXER_MAX_LAG?.trim();
  const maxLagBlocks = lag ? Number(lag) : DEFAULT_MAX_INDEXER_LAG_BLOCKS;
  if (!Number.isSafeInteger(maxLagBlocks) || maxLagBlocks < 0) {
    throw new UserError(`INDEXER_MAX_LAG must be a number of blocks, got "${lag}"`);
  }
  try {
    return { source: historySource(url, { maxLagBlocks }) };
  } catch (error) {
    throw new UserError(`--indexer: ${(error as Error).message}`);
  }
}
