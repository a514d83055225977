/**
 * Deployment records as a dApp finds them: by network name in a folder, or by chain id among the records the
 * package ships, with errors that name the paths searched.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";

import { deploymentForChain, knownDeploymentsDir, loadDeployment, type Deployment } from "../../src/deployment";
import { temporaryDir } from "../cli/cli-harness";

const SEPOLIA: Deployment = {
  network: "sepolia",
  chainId: 11155111,
  providerRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  consentRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  recordRegistry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  deploymentBlock: 7_000_000,
  deployer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  registryAdmin: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  transactions: {},
  deployedAt: "2026-01-01T00:00:00.000Z",
};

describe("Deployment records", function () {
  let dir: string;

  before(function () {
    dir = temporaryDir("deployments");
    fs.writeFileSync(path.join(dir, "sepolia.json"), JSON.stringify(SEPOLIA));
  });

  it("should find a deployment by chain id", function () {
    expect(deploymentForChain(11155111, dir)).to.deep.equal(SEPOLIA);
    expect(deploymentForChain(11155111n, dir).network).to.equal("sepolia");
  });

  it("should name the folder searched and the files it holds when no deployment is for the chain", function () {
    expect(() => deploymentForChain(1, dir)).to.throw(`No deployment for chain 1 in ${dir} (it holds sepolia.json)`);
  });

  it("should name the path it searched when a network has no deployment file", function () {
    expect(() => loadDeployment("holesky", dir)).to.throw(`searched ${path.join(dir, "holesky.json")}`);
  });

  it("should look for the shipped deployments next to the package, whatever the working directory", function () {
    expect(knownDeploymentsDir()).to.equal(path.resolve(__dirname, "..", "..", "deployments"));
  });
});
