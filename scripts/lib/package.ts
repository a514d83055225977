/**
 * Builds the SDK package a dApp installs: the compiled SDK (CommonJS, with an ESM entry), its declarations, the
 * contracts' ABIs as JSON, the deployments of public networks, the Solidity sources, and a package.json of its own
 * that declares only what the built code needs. Nothing of Hardhat, Anvil or the test tooling is in it.
 *
 * The project's package.json is not published as is: it carries the test-only dependencies (Hardhat, the Anvil
 * binary as an optional dependency). `npm run pack` stages the package in `dist/package/` and packs it.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** The registries whose ABIs ship as `abi/<name>.json`. */
export const SHIPPED_CONTRACTS = ["ConsentRegistry", "ProviderRegistry", "RecordRegistry"] as const;

/** Chain ids of local development chains: their deployment files never ship. */
const LOCAL_CHAIN_IDS = new Set([31337, 1337]);

/** The fields of the project's package.json copied into the published one. */
const COPIED_FIELDS = [
  "name",
  "version",
  "description",
  "license",
  "engines",
  "main",
  "types",
  "exports",
  "dependencies",
  "peerDependencies",
] as const;

export interface PackageManifest {
  name: string;
  version: string;
  main: string;
  types: string;
  exports: Record<string, unknown>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  [field: string]: unknown;
}

export interface BuiltPackage {
  /** The staged package folder. */
  dir: string;
  /** The packed tarball. */
  tarball: string;
  /** The published package.json. */
  manifest: PackageManifest;
}

/** The package.json to publish, from the project's: no scripts, dev or optional dependencies, not private. */
export function publishedManifest(project: Record<string, unknown>): PackageManifest {
  const manifest: Record<string, unknown> = {};
  for (const field of COPIED_FIELDS) {
    if (project[field] !== undefined) manifest[field] = project[field];
  }
  manifest.sideEffects = false;
  return manifest as PackageManifest;
}

function copyTree(from: string, to: string, skip: (relative: string) => boolean, relative = ""): void {
  for (const entry of fs.readdirSync(path.join(from, relative), { withFileTypes: true })) {
    const child = path.join(relative, entry.name);
    if (skip(child)) continue;
    if (entry.isDirectory()) copyTree(from, to, skip, child);
    else {
      fs.mkdirSync(path.dirname(path.join(to, child)), { recursive: true });
      fs.copyFileSync(path.join(from, child), path.join(to, child));
    }
  }
}

/** Runs a command to completion; throws its output, not a stack of buffers, when it fails. */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${path.basename(args[0] ?? command)} failed: ${`${stdout ?? ""}${stderr ?? ""}`.trim()}`);
  }
}

/**
 * `dist/esm/index.mjs`: the CommonJS build's exports as ESM named exports, with declarations that re-export it. The
 * names are read by loading the build in a child process that finds its dependencies in the project's node_modules.
 */
function writeEsmEntry(root: string, dir: string): void {
  const entry = path.join(dir, "dist", "src", "index.js");
  const listed = execFileSync(
    process.execPath,
    ["-e", "console.log(JSON.stringify(Object.keys(require(process.argv[1]))))", entry],
    { encoding: "utf8", env: { ...process.env, NODE_PATH: path.join(root, "node_modules") } },
  );
  const names = (JSON.parse(listed) as string[]).filter(
    (name) => name !== "default" && name !== "__esModule" && /^[A-Za-z_$][\w$]*$/.test(name),
  );
  const esm = path.join(dir, "dist", "esm");
  fs.mkdirSync(esm, { recursive: true });
  fs.writeFileSync(
    path.join(esm, "index.mjs"),
    `import sdk from "../src/index.js";\n\nexport const {\n${names.map((n) => `  ${n},`).join("\n")}\n} = sdk;\n`,
  );
  fs.writeFileSync(path.join(esm, "index.d.mts"), `export * from "../src/index.js";\n`);
}

/**
 * Stages the package in `<outDir>/package` and packs it into `<outDir>`. `root` is the project (its contracts must be
 * compiled: the build reads `typechain-types/` and `artifacts/`).
 */
export function buildPackage(root: string, outDir: string): BuiltPackage {
  const project = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as Record<string, unknown>;
  const dir = path.join(outDir, "package");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });

  const tsc = path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc");
  run(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json"), "--outDir", path.join(dir, "dist")], root);
  writeEsmEntry(root, dir);

  fs.mkdirSync(path.join(dir, "abi"));
  for (const name of SHIPPED_CONTRACTS) {
    const artifact = path.join(root, "artifacts", "contracts", `${name}.sol`, `${name}.json`);
    const { abi } = JSON.parse(fs.readFileSync(artifact, "utf8")) as { abi: unknown[] };
    fs.writeFileSync(path.join(dir, "abi", `${name}.json`), `${JSON.stringify(abi, null, 2)}\n`);
  }

  fs.mkdirSync(path.join(dir, "deployments"));
  for (const name of fs.readdirSync(path.join(root, "deployments")).filter((n) => n.endsWith(".json"))) {
    const file = path.join(root, "deployments", name);
    const { chainId } = JSON.parse(fs.readFileSync(file, "utf8")) as { chainId?: unknown };
    if (typeof chainId === "number" && !LOCAL_CHAIN_IDS.has(chainId)) {
      fs.copyFileSync(file, path.join(dir, "deployments", name));
    }
  }

  copyTree(path.join(root, "contracts"), path.join(dir, "contracts"), (relative) => relative === "test");
  for (const file of ["README.md", "LICENSE"]) fs.copyFileSync(path.join(root, file), path.join(dir, file));

  const manifest = publishedManifest(project);
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);

  const packed = run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", outDir], dir);
  const [{ filename }] = JSON.parse(packed) as { filename: string }[];
  return { dir, tarball: path.join(outDir, filename), manifest };
}
