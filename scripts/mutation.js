#!/usr/bin/env node
/**
 * `npm run test:mutation [-- <startHash> <endHash>]`: mutation testing of the production contracts with SuMo.
 * MUTATION_REF=<commit> tests that commit instead of the working tree.
 * `npm run test:mutation -- summary [results.csv ...]` prints the score of one or more runs (default: the last report),
 * per contract, with every mutant that survived.
 * `npm run test:mutation -- preflight` only lists the mutants (in mutation-report/report.txt), without testing them.
 *
 * SuMo rewrites the contracts in place while it runs, so this script runs it in a scratch copy of the project
 * (MUTATION_DIR, default `$TMPDIR/consent-anchor-mutation`): the working tree is never touched, and other work can go
 * on beside it. In the copy, `compile` is `hardhat compile --no-typechain --quiet` and `test` runs the contract tests
 * (test/contracts) with `--bail`, so a mutant is killed by the first failing test. The report is copied to
 * `mutation-report/` (git-ignored), and the surviving mutants are printed with their diffs.
 *
 * SuMo's default operators are enabled (not its gas-optimisation ones), except TOR (msg.sender -> tx.origin) and GVR (other global variables): the contracts
 * never read tx.origin, and the two differ only for calls through a contract, which a mutant of every `msg.sender`
 * would need a test of its own to tell apart; docs/testing.md says why.
 *
 * SuMo 1.2.1 calls glob with glob 7's callback API but does not declare it; the project hoists glob 10. Its
 * `require("glob")` is sent to the `glob7` alias (glob@7.2.3) instead.
 */
const { execFileSync, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const work = path.resolve(process.env.MUTATION_DIR ?? path.join(os.tmpdir(), "consent-anchor-mutation"));
const reportDir = path.resolve(root, process.env.MUTATION_REPORT ?? "mutation-report");
/** MUTATION_CONTRACTS=ConsentRegistry,RecordRegistry mutates only these production contracts (to split a run). */
const only = process.env.MUTATION_CONTRACTS?.split(",").map((name) => `${name.trim().replace(/\.sol$/, "")}.sol`);
const args = process.argv.slice(2);
const preflight = args[0] === "preflight";

/** SuMo operators left out: its gas-optimisation operators (off by default in SuMo), and TOR and GVR (see above). */
const DISABLED_OPERATORS = ["DLR", "FVR", "VVR", "TOR", "GVR"];

/** Contract test files, those that kill most mutants quickly first. */
const TEST_ORDER = [
  "ConsentRegistry.test.ts",
  "ProviderRegistry.test.ts",
  "RecordRegistry.test.ts",
  "ConsentRegistry.signatures.test.ts",
  "ConsentRegistry.providers.test.ts",
  "ConsentRegistry.keys.test.ts",
  "ConsentRegistry.emergency.test.ts",
];

function testFiles() {
  const all = fs.readdirSync(path.join(root, "test", "contracts")).filter((f) => f.endsWith(".test.ts"));
  const ordered = [...TEST_ORDER.filter((f) => all.includes(f)), ...all.filter((f) => !TEST_ORDER.includes(f)).sort()];
  return ordered.map((f) => `test/contracts/${f}`);
}

/**
 * Copies the project's files (tracked and untracked, not ignored) as they are in the working tree, or, with
 * MUTATION_REF=<commit>, as they are in that commit.
 */
function copyProject() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  if (process.env.MUTATION_REF) {
    const archive = path.join(work, ".source.tar");
    execFileSync("git", ["archive", "--format=tar", "-o", archive, process.env.MUTATION_REF], { cwd: root });
    execFileSync("tar", ["-xf", archive, "-C", work]);
    fs.rmSync(archive);
  } else {
    const listed = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], {
      cwd: root,
      encoding: "utf8",
    });
    for (const file of listed.split("\0").filter((f) => f && fs.existsSync(path.join(root, f)))) {
      fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
      fs.copyFileSync(path.join(root, file), path.join(work, file));
    }
  }
  linkNodeModules();
  const pkg = JSON.parse(fs.readFileSync(path.join(work, "package.json"), "utf8"));
  pkg.scripts.compile = "hardhat compile --no-typechain --quiet";
  pkg.scripts.test = `hardhat test --no-compile --bail ${testFiles().join(" ")}`;
  fs.writeFileSync(path.join(work, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  fs.mkdirSync(path.join(work, "artifacts"), { recursive: true });
  if (only) {
    const config = require(path.join(work, "sumo-config.js"));
    const production = fs.readdirSync(path.join(work, "contracts")).filter((f) => f.endsWith(".sol"));
    const unknown = only.filter((f) => !production.includes(f));
    if (unknown.length) throw new Error(`MUTATION_CONTRACTS names no production contract: ${unknown.join(", ")}`);
    config.skipContracts.push(...production.filter((f) => !only.includes(f)));
    fs.writeFileSync(path.join(work, "sumo-config.js"), `module.exports = ${JSON.stringify(config, null, 2)};\n`);
  }
}

/**
 * Gives the copy a node_modules of links to the project's packages, except SuMo, which is copied: SuMo writes its
 * operator settings into its own folder, and its copy gets one fix. SuMo 1.2.1 drops the last mutant of a run given
 * a start hash (`mutations.slice(startIndex, mutations.length - 1)`), so a split run would miss one mutant.
 */
function linkNodeModules() {
  const modules = path.join(root, "node_modules");
  const linked = path.join(work, "node_modules");
  fs.mkdirSync(linked);
  for (const entry of fs.readdirSync(modules)) {
    if (entry === "@morenabarboni") continue;
    fs.symlinkSync(path.join(modules, entry), path.join(linked, entry));
  }
  const sumoDir = path.join(linked, "@morenabarboni", "sumo");
  fs.cpSync(path.join(modules, "@morenabarboni", "sumo"), sumoDir, { recursive: true, dereference: true });
  const runner = path.join(sumoDir, "src", "mutationRunner.js");
  const source = fs.readFileSync(runner, "utf8");
  const bug = "mutations.slice(startIndex, mutations.length - 1)";
  if (source.includes(bug)) fs.writeFileSync(runner, source.replace(bug, "mutations.slice(startIndex)"));
}

function run(command, args, env = {}) {
  const result = spawnSync(command, args, {
    cwd: work,
    stdio: "inherit",
    env: { ...process.env, APP_ROOT_PATH: work, TS_NODE_TRANSPILE_ONLY: "1", ...env },
  });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status}`);
}

/** Runs the copy's SuMo (with its fix and its own operator settings), not the project's. */
function sumo(...args) {
  run(process.execPath, [
    "-r",
    path.join(__dirname, "lib", "sumo-glob.js"),
    path.join(work, "node_modules", "@morenabarboni", "sumo", "index.js"),
    ...args,
  ]);
}

/** Reads SuMo's results.csv (`$`-separated: hash, file, operator, ..., original, replacement, status, time). */
function readResults(file) {
  const [, ...rows] = fs.readFileSync(file, "utf8").trim().split("\n");
  return rows.map((row) => {
    const f = row.split("$");
    return {
      hash: f[0],
      contract: path.basename(f[1]),
      operator: f[2],
      line: Number(f[5]),
      original: f[7],
      replacement: f[8],
      status: f[9],
    };
  });
}

/** Prints, per contract, how many mutants each status has and the score, then every survivor. */
function summarize(files) {
  const results = files.flatMap(readResults);
  const statuses = ["killed", "live", "timedout", "stillborn", "equivalent", "redundant"];
  const byContract = new Map();
  for (const r of results) {
    const counts = byContract.get(r.contract) ?? Object.fromEntries(statuses.map((s) => [s, 0]));
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    byContract.set(r.contract, counts);
  }
  const total = Object.fromEntries(statuses.map((s) => [s, 0]));
  console.log(`| contract | ${statuses.join(" | ")} | score |`);
  console.log(`| --- | ${statuses.map(() => "---").join(" | ")} | --- |`);
  const row = (name, c) => {
    const tested = c.killed + c.live + c.timedout;
    const score = tested ? `${((100 * (c.killed + c.timedout)) / tested).toFixed(1)}%` : "-";
    console.log(`| ${name} | ${statuses.map((s) => c[s]).join(" | ")} | ${score} |`);
  };
  for (const [name, counts] of [...byContract].sort()) {
    row(name, counts);
    for (const s of statuses) total[s] += counts[s];
  }
  row("all", total);
  const live = results.filter((r) => r.status === "live");
  console.log(`\n${live.length} surviving mutant(s)${live.length ? ":" : "."}`);
  for (const r of live) {
    console.log(
      `  ${r.hash} ${r.contract}:${r.line} ${r.operator} \`${r.original.trim()}\` -> \`${r.replacement.trim()}\``,
    );
  }
}

function main() {
  if (args[0] === "summary") {
    const files = args.length > 1 ? args.slice(1) : [path.join(reportDir, "results.csv")];
    summarize(files.map((f) => path.resolve(f)));
    return;
  }
  console.error(`Mutation testing in ${work} (a copy of ${root})`);
  copyProject();
  // Artifacts and TypeChain types of the unmutated contracts, which the tests import.
  run("npx", ["hardhat", "compile", "--quiet"]);
  sumo("enable");
  sumo("disable", ...DISABLED_OPERATORS);
  sumo(...(preflight ? ["preflight"] : ["test", ...args]));
  fs.rmSync(reportDir, { recursive: true, force: true });
  fs.cpSync(path.join(work, ".sumo", preflight ? "" : "results"), reportDir, { recursive: true });
  if (preflight) return;
  console.log(`\nReport: ${path.relative(root, reportDir)}/ (results.csv, report.txt)\n`);
  summarize([path.join(reportDir, "results.csv")]);
  reportNotRun(path.join(reportDir, "generated.csv"), path.join(reportDir, "results.csv"), args);
}

/**
 * Names the mutants SuMo generated in the asked range but did not test (none, since the range fix above; a check
 * that the run is complete).
 */
function reportNotRun(generatedFile, resultsFile, range) {
  if (!fs.existsSync(generatedFile)) return;
  const hashes = (file) =>
    fs
      .readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((row) => row.split("$")[0]);
  let generated = hashes(generatedFile);
  const [start = "first", end = "last"] = range;
  if (start !== "first" && generated.includes(start)) generated = generated.slice(generated.indexOf(start));
  if (end !== "last" && generated.includes(end)) generated = generated.slice(0, generated.indexOf(end) + 1);
  const tested = new Set(hashes(resultsFile));
  const missing = generated.filter((hash) => !tested.has(hash));
  if (missing.length === 0) return;
  console.log(`\n${missing.length} mutant(s) generated but not tested; run each on its own:`);
  for (const hash of missing) console.log(`  npm run test:mutation -- ${hash} ${hash}`);
  process.exitCode = 1;
}

main();
