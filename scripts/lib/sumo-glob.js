/**
 * Preloaded into SuMo's process by scripts/mutation.js: SuMo 1.2.1 needs glob 7's callback API without declaring
 * glob, and the project hoists glob 10, so its `require("glob")` resolves to the `glob7` alias (glob@7.2.3).
 */
const Module = require("node:module");
const path = require("node:path");

const sumoDir = `${path.sep}@morenabarboni${path.sep}sumo${path.sep}`;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const fromSumo = request === "glob" && parent?.filename?.includes(sumoDir);
  return resolve.call(this, fromSumo ? "glob7" : request, parent, ...rest);
};
