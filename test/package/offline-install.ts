/**
 * Installs a packed tarball into a throw-away project without the network: a lockfile for the project is written
 * from the packed package.json's dependencies, resolved to the exact versions (and integrity hashes) of this
 * project's package-lock.json, so `npm ci --offline` takes every tarball from the npm cache that `npm ci` filled.
 * A dependency the packed package.json does not declare is not installed: the consumer then fails to compile or run.
 */
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

interface LockEntry {
  version?: string;
  integrity?: string;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires: boolean;
  packages: Record<string, LockEntry>;
}

/** The entries of `packages` that `wanted` (declared by the package at `from`) resolves to, as Node resolves them. */
function closure(
  packages: Record<string, LockEntry>,
  roots: { from: string; names: string[] },
): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  const add = (key: string) => {
    if (out[key]) return;
    const entry: LockEntry = { ...packages[key] };
    for (const flag of ["dev", "devOptional", "peer", "extraneous"]) delete entry[flag];
    // A registry URL makes npm take the tarball from the cache by its integrity, without asking for the packument.
    if (!entry.resolved && entry.version)
      entry.resolved = tarballUrl(typeof entry.name === "string" ? entry.name : nameOf(key), entry.version);
    out[key] = entry;
    const required = Object.keys({ ...entry.dependencies, ...requiredPeers(entry) });
    for (const name of required) visit(key, name, true);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) visit(key, name, false);
  };
  const visit = (from: string, name: string, mandatory: boolean) => {
    let base = from;
    for (;;) {
      const candidate = `${base ? `${base}/` : ""}node_modules/${name}`;
      if (packages[candidate]) return add(candidate);
      if (!base) {
        if (mandatory) throw new Error(`${name} (needed by ${from || "the consumer"}) is not in package-lock.json`);
        return;
      }
      const cut = base.lastIndexOf("/node_modules/");
      base = cut === -1 ? "" : base.slice(0, cut);
    }
  };
  for (const name of roots.names) visit(roots.from, name, true);
  return out;
}

/** The registry npm uses (npm test passes it on as npm_config_registry). */
function registry(): string {
  const url = process.env.npm_config_registry?.trim() || "https://registry.npmjs.org/";
  return url.endsWith("/") ? url : `${url}/`;
}

/** The package name of a lockfile path: `node_modules/a/node_modules/@s/b` -> `@s/b`. */
function nameOf(key: string): string {
  return key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
}

/** The registry's tarball URL of `name@version`. */
function tarballUrl(name: string, version: string): string {
  const base = name.startsWith("@") ? name.split("/")[1] : name;
  return `${registry()}${name}/-/${base}-${version}.tgz`;
}

function requiredPeers(entry: LockEntry): Record<string, string> {
  return Object.fromEntries(
    Object.entries(entry.peerDependencies ?? {}).filter(([name]) => !entry.peerDependenciesMeta?.[name]?.optional),
  );
}

/** The version this project locked for `name` (at the top of node_modules). */
export function lockedVersion(projectRoot: string, name: string): string {
  const lock = JSON.parse(fs.readFileSync(path.join(projectRoot, "package-lock.json"), "utf8")) as Lockfile;
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

/**
 * Writes `dir/package.json` and `dir/package-lock.json` for a project depending on the tarball (copied into `dir`)
 * and on `extra` packages at exact versions of this project's lockfile.
 */
export function writeConsumerProject(
  projectRoot: string,
  dir: string,
  tarball: string,
  packed: {
    name: string;
    version: string;
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
  },
  extra: string[],
): void {
  const lock = JSON.parse(fs.readFileSync(path.join(projectRoot, "package-lock.json"), "utf8")) as Lockfile;
  const file = path.basename(tarball);
  fs.copyFileSync(tarball, path.join(dir, file));
  const dependencies: Record<string, string> = { [packed.name]: `file:${file}` };
  for (const name of extra) dependencies[name] = lockedVersion(projectRoot, name);

  const packages: Record<string, LockEntry> = {
    "": { name: "consumer", version: "1.0.0", dependencies },
    ...closure(lock.packages, { from: "", names: extra }),
    ...closure(lock.packages, {
      from: `node_modules/${packed.name}`,
      names: Object.keys({ ...packed.dependencies, ...packed.peerDependencies }),
    }),
  };
  const integrity = `sha512-${crypto.createHash("sha512").update(fs.readFileSync(tarball)).digest("base64")}`;
  packages[`node_modules/${packed.name}`] = {
    version: packed.version,
    resolved: `file:${file}`,
    integrity,
    dependencies: packed.dependencies,
    peerDependencies: packed.peerDependencies,
  };
  const consumerLock: Lockfile = { name: "consumer", version: "1.0.0", lockfileVersion: 3, requires: true, packages };
  fs.writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "commonjs", dependencies }, null, 2)}\n`,
  );
  fs.writeFileSync(path.join(dir, "package-lock.json"), `${JSON.stringify(consumerLock, null, 2)}\n`);
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (the test process serves the chain meanwhile). */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // npm's own variables from `npm test` (except the cache and registry) must not leak into the consumer's install.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || /^npm_config_(cache|registry)$/i.test(key)),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
