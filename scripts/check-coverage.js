#!/usr/bin/env node
// Fails unless every contract (mocks under contracts/test excepted) has 100% line and branch coverage.
// Reads the istanbul summary that `hardhat coverage` writes.
const fs = require("node:fs");
const path = require("node:path");

const summaryPath = path.join(__dirname, "..", "coverage", "coverage-summary.json");
if (!fs.existsSync(summaryPath)) {
  console.error(`No coverage summary at ${summaryPath}: run \`npx hardhat coverage\` first.`);
  process.exit(1);
}
const summary = JSON.parse(fs.readFileSync(summaryPath, "utf8"));
const failures = [];
let files = 0;
for (const [file, metrics] of Object.entries(summary)) {
  if (file === "total") continue;
  files += 1;
  for (const kind of ["lines", "branches"]) {
    const { pct, covered, total } = metrics[kind];
    if (total > 0 && pct < 100)
      failures.push(`${path.relative(process.cwd(), file)}: ${kind} ${covered}/${total} (${pct}%)`);
  }
}
if (files === 0) {
  console.error("The coverage summary lists no contracts.");
  process.exit(1);
}
if (failures.length > 0) {
  console.error("Contract coverage is below 100%:\n  " + failures.join("\n  "));
  process.exit(1);
}
console.log(`Contract coverage: 100% of lines and branches in ${files} files.`);
