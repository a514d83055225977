// SuMo (https://github.com/MorenaBarboni/SuMo-SOlidity-MUtator) configuration for `npm run test:mutation`.
// scripts/mutation.js runs SuMo in a scratch copy of the project, where `compile` and `test` are the package scripts
// it writes there (testingFramework "custom"); see docs/testing.md.
module.exports = {
  buildDir: "artifacts",
  contractsDir: "contracts",
  testDir: "test/contracts",
  // Relative to contractsDir: mocks are not production code, and interfaces hold no statements to mutate.
  skipContracts: ["test", "interfaces"],
  skipTests: [],
  testingTimeOutInSec: 240,
  network: "none",
  testingFramework: "custom",
  minimal: true,
  tce: false,
};
