/**
 * Where a task's words go. Without `--json`, messages are lines on stdout. With `--json`, messages go to stderr and
 * the task prints one JSON document on stdout when it ends: `{ "ok": true, ...result }`, or
 * `{ "ok": false, "error": "..." }` when it failed. Big integers are written as strings.
 */
export type JsonResult = Record<string, unknown>;

/** `JSON.stringify` with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) => (typeof field === "bigint" ? field.toString() : field), 2);
}

export class Output {
  private value: JsonResult = {};

  constructor(readonly json: boolean) {}

  /** A message for the person at the terminal: stdout, or stderr with --json. */
  say(line: string): void {
    if (this.json) console.error(line);
    else console.log(line);
  }

  /** Adds fields to the JSON document (ignored without --json). */
  result(fields: JsonResult): void {
    this.value = { ...this.value, ...fields };
  }

  /** Prints the JSON document of a task that succeeded. */
  succeed(): void {
    if (this.json) console.log(toJson({ ok: true, ...this.value }));
  }

  /** Prints the one-line error, and with --json the JSON document of a task that failed. */
  fail(message: string): void {
    console.error(`Error: ${message}`);
    if (this.json) console.log(toJson({ ok: false, error: message, ...this.value }));
  }
}
