import "dotenv/config";
import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig, NetworkUserConfig } from "hardhat/types";
import "@nomicfoundation/hardhat-toolbox";

import "./tasks";

/** The one compiler version this project builds with; `solc` in package.json is pinned to it. */
const SOLC_VERSION = "0.8.28";

// Compile offline and identically everywhere: use the solcjs build shipped in the pinned `solc`
// npm package instead of downloading a native compiler.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solcPackage = require("solc/package.json") as { version: string };
  if (solcPackage.version !== SOLC_VERSION) {
    throw new Error(`The solc npm package is ${solcPackage.version}, expected ${SOLC_VERSION}: run npm ci`);
  }
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: `${SOLC_VERSION}+commit.7893614a`,
  };
});

const env = process.env;
const accounts = env.DEPLOYER_PRIVATE_KEY ? [env.DEPLOYER_PRIVATE_KEY] : [];

/** A public network from the environment; without its RPC URL it still exists but cannot connect. */
function remote(urlVar: string, chainId: number): NetworkUserConfig {
  return { url: env[urlVar] ?? "http://127.0.0.1:0", chainId, accounts };
}

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 10_000 },
    },
  },
  networks: {
    hardhat: {},
    localhost: { url: env.LOCALHOST_RPC_URL ?? "http://127.0.0.1:8545" },
    anvil: {
      url: env.ANVIL_RPC_URL ?? "http://127.0.0.1:8545",
      ...(env.DEPLOYER_PRIVATE_KEY ? { accounts } : {}),
    },
    sepolia: remote("SEPOLIA_RPC_URL", 11155111),
    baseSepolia: remote("BASE_SEPOLIA_RPC_URL", 84532),
  },
  etherscan: {
    apiKey: env.ETHERSCAN_API_KEY ?? "",
  },
  sourcify: { enabled: false },
  gasReporter: {
    enabled: env.REPORT_GAS === "true",
    currency: "USD",
    outputFile: env.REPORT_GAS_FILE,
    noColors: Boolean(env.REPORT_GAS_FILE),
  },
  typechain: {
    outDir: "typechain-types",
    target: "ethers-v6",
  },
  mocha: {
    timeout: 120_000,
  },
};

export default config;
