/**
 * The indexer's HTTP API, read-only:
 *
 * - `/graphql` (and `/`): GraphQL over every table, paged (at most 1,000 rows a page, cursors after/before) with
 *   Ponder's depth and token limits;
 * - `/sql/*`: Ponder's SQL over HTTP (what `@ponder/client` speaks): single read-only SELECT statements, which must
 *   end with a `LIMIT` of at most 1,000 rows (checked here, before Ponder runs them);
 * - `/status`, `/ready`, `/health` (Ponder's own): how far the indexer has indexed.
 */
import { db } from "ponder:api";
import schema from "ponder:schema";
import { Hono } from "hono";
import { client, graphql } from "ponder";
import superjson from "superjson";

/** The most rows a query may ask for, through GraphQL (Ponder's own maximum) or SQL. */
export const MAX_ROWS = 1_000;

const app = new Hono();

/**
 * A SQL query must end with `LIMIT n` (a literal or a parameter) with n <= MAX_ROWS, optionally followed by OFFSET:
 * nothing unbounded reaches the database.
 */
export function boundedSqlError(sqlText: string, params: readonly unknown[]): string | undefined {
  const match = /\blimit\s+(\$(\d+)|(\d+))(\s+offset\s+(\$\d+|\d+))?\s*;?\s*$/i.exec(sqlText);
  if (!match) return `Unbounded query: end it with LIMIT n (n <= ${MAX_ROWS})`;
  const limit = match[3] !== undefined ? Number(match[3]) : Number(params[Number(match[2]) - 1]);
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_ROWS) {
    return `LIMIT ${String(limit)} is too large: at most ${MAX_ROWS} rows a query`;
  }
  return undefined;
}

app.use("/sql/*", async (c, next) => {
  if (c.req.path === "/sql/db") {
    const text = c.req.query("sql");
    if (text !== undefined) {
      let error: string | undefined;
      try {
        const query = superjson.parse<{ sql: string; params?: unknown[] }>(text);
        error = boundedSqlError(query.sql, query.params ?? []);
      } catch {
        error = "Invalid query";
      }
      if (error) return c.text(error, 400);
    }
  }
  return next();
});
app.use("/sql/*", client({ db, schema }));

app.use("/", graphql({ db, schema }));
app.use("/graphql", graphql({ db, schema }));

export default app;
