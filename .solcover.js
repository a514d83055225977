module.exports = {
  skipFiles: ["test/"],
  istanbulReporter: ["text", "text-summary", "json-summary", "lcov"],
  mocha: { timeout: 300000 },
};
