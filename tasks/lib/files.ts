/**
 * Files the tasks read and write. A task checks that it can write its output before it signs or sends anything,
 * and never replaces an existing file unless the user said `--force`.
 */
import fs from "node:fs";
import path from "node:path";

import { UserError } from "../../scripts/lib/errors";

/** An output file that was checked: where it goes, and whether it may replace an existing file. */
export interface OutputFile {
  path: string;
  force: boolean;
  /** The option that named it (`--out`), for messages. */
  option: string;
}

/**
 * Checks, before anything is sent, that `file` can be written: its folder exists and takes a new file, and the file
 * does not exist yet (or `force`). Probes the folder by creating and removing a file next to it.
 */
export function checkOutputFile(file: string, option: string, force: boolean): OutputFile {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new UserError(`--${option} ${file}: the folder ${dir} does not exist`);
  if (!stat.isDirectory()) throw new UserError(`--${option} ${file}: ${dir} is not a folder`);
  const existing = fs.statSync(target, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw new UserError(`--${option} ${file} is a folder: name a file`);
  if (existing && !force) {
    throw new UserError(`--${option} ${file} already exists: add --force to replace it, or name another file`);
  }
  const probe = path.join(dir, `.${path.basename(target)}.${process.pid}.probe`);
  try {
    fs.writeFileSync(probe, "", { flag: "wx" });
    fs.rmSync(probe, { force: true });
    if (existing) fs.accessSync(target, fs.constants.W_OK);
  } catch (error) {
    throw new UserError(`--${option} ${file} cannot be written: ${(error as Error).message}`);
  }
  return { path: target, force, option };
}

/** Writes `text` to a checked output file, through a temporary file renamed over it (never half a file). */
export function writeOutputFile(out: OutputFile, text: string): void {
  if (!out.force && fs.existsSync(out.path)) {
    throw new UserError(`--${out.option} ${out.path} appeared meanwhile: add --force to replace it`);
  }
  const temporary = `${out.path}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, text);
    fs.renameSync(temporary, out.path);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw new UserError(`Cannot write ${out.path}: ${(error as Error).message}`);
  }
}

/** The text of a file an option names, or one line saying why it cannot be read. */
export function readTextFile(file: string, option: string): string {
  return new TextDecoder().decode(readBytesFile(file, option));
}

/** The bytes of a file an option names, or one line saying why it cannot be read. */
export function readBytesFile(file: string, option: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : (error as Error).message;
    throw new UserError(`--${option} ${file}: cannot read it (${reason})`);
  }
}
