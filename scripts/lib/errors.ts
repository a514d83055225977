/**
 * One readable line for any error a script or a task meets: the command line prints it instead of a stack trace.
 */

/** An error in what the user typed or set up: printed as one line, without a stack trace. */
export class UserError extends Error {}

interface ErrorLike {
  message?: unknown;
  shortMessage?: unknown;
  code?: unknown;
  cause?: unknown;
  reason?: unknown;
}

/** Collapses an error to one line: ethers' short message, a network hint, or its message on one line. */
export function oneLine(error: unknown): string {
  const e = (typeof error === "object" && error !== null ? error : { message: String(error) }) as ErrorLike;
  const cause = (typeof e.cause === "object" && e.cause !== null ? e.cause : {}) as ErrorLike;
  const message = String(e.message ?? error);
  if (e.code === "ECONNREFUSED" || cause.code === "ECONNREFUSED" || /Cannot connect to the network/i.test(message)) {
    const first = message
      .split("\n")[0]
      .replace(/^HH\d+:\s*/, "")
      .trim();
    return `${first.replace(/\.$/, "")}: is the node running?`;
  }
  const text =
    typeof e.reason === "string" && e.reason
      ? e.reason
      : typeof e.shortMessage === "string" && e.shortMessage
        ? e.shortMessage
        : message;
  return text
    .replace(/^HH\d+:\s*/, "")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * The one line to print for `error`: the message of a {UserError}, the decoded sentence of a contract refusal (the
 * SDK's `decodeError`), else {oneLine}. Loads the SDK's decoder lazily: it needs the compiled contracts' types.
 */
export async function describeError(error: unknown): Promise<string> {
  if (error instanceof UserError) return error.message;
  try {
    const { decodeError } = await import("../../src/errors");
    const decoded = decodeError(error);
    if (decoded.decoded) return decoded.message;
  } catch {
    // the decoder is unavailable (contracts not compiled): fall back to the message
  }
  return oneLine(error);
}
