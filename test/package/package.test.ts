/**
 * The SDK as a dApp installs it: `npm run pack`'s tarball, installed offline into a throw-away project, compiled by a
 * strict TypeScript consumer (skipLibCheck false) from CommonJS and ESM, and run against a local chain (this
 * process's in-process Hardhat chain, served over JSON-RPC).
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";

import { saveDeployment } from "../../src/deployment";
import { deployRegistries } from "../../scripts/lib/deploy-registries";
import { buildPackage, type BuiltPackage } from "../../scripts/lib/package";
import { anvilDevKey } from "../helpers/anvil";
import { temporaryDir } from "../cli/cli-harness";
import { run, writeConsumerProject } from "./offline-install";

const ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join(__dirname, "consumer");

/** Every bare module a built file imports or requires (`ethers`, `@scope/name`), without Node's built-ins. */
function importedPackages(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.(js|mjs|d\.ts|d\.mts)$/.test(entry.name)) {
        const text = fs.readFileSync(file, "utf8");
        for (const [, specifier] of text.matchAll(/(?:require\(|from\s+|import\()\s*"([^".][^"]*)"/g)) {
          if (specifier.startsWith("node:")) continue;
          const parts = specifier.split("/");
          found.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
        }
      }
    }
  };
  walk(dir);
  return found;
}

describe("The SDK package", function () {
  this.timeout(240_000);

  let built: BuiltPackage;

  before(function () {
    built = buildPackage(ROOT, temporaryDir("sdk-pack"));
  });

  it("should declare ethers as a peer and every other package its built code imports as a dependency", function () {
    const { manifest } = built;
    expect(manifest.peerDependencies)
      .to.have.property("ethers")
      .that.matches(/^\^6\./);
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
    const imported = importedPackages(path.join(built.dir, "dist"));
    // A type-only import ("fhir/r4") is covered by its @types package.
    expect([...imported].filter((name) => !declared.has(name) && !declared.has(`@types/${name}`))).to.deep.equal([]);
    expect(imported).to.include("fhir");
    expect(manifest.dependencies).to.have.property("@types/fhir");
  });

  it("should publish no Hardhat, Anvil, test tool, script or private flag, and an exports map", function () {
    const manifest = built.manifest as Record<string, unknown>;
    for (const field of ["devDependencies", "optionalDependencies", "scripts", "private"]) {
      expect(manifest, field).to.not.have.property(field);
    }
    const runtime = JSON.stringify([manifest.dependencies, manifest.peerDependencies]);
    expect(runtime).to.not.match(/hardhat|anvil|foundry|typechain|mocha|chai/i);
    expect(manifest.exports).to.have.all.keys(".", "./abi/*.json", "./deployments/*.json", "./package.json");
    for (const name of ["ConsentRegistry", "ProviderRegistry", "RecordRegistry"]) {
      expect(fs.existsSync(path.join(built.dir, "abi", `${name}.json`)), name).to.equal(true);
    }
    expect(fs.existsSync(path.join(built.dir, "LICENSE"))).to.equal(true);
  });

  it("should install offline and run a strict TypeScript consumer from CommonJS and ESM against a local chain", async function () {
    const consumer = temporaryDir("sdk-consumer");
    writeConsumerProject(ROOT, consumer, built.tarball, built.manifest, ["ethers", "@types/node"]);
    const install = await run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], consumer);
    expect(install.code, install.stderr).to.equal(0);
    for (const absent of ["hardhat", "@nomicfoundation", "@foundry-rs", "typechain", "mocha"]) {
      expect(fs.existsSync(path.join(consumer, "node_modules", absent)), absent).to.equal(false);
    }

    fs.copyFileSync(path.join(FIXTURES, "main.ts.fixture"), path.join(consumer, "main.ts"));
    fs.copyFileSync(path.join(FIXTURES, "esm.mts.fixture"), path.join(consumer, "esm.mts"));
    fs.copyFileSync(path.join(FIXTURES, "tsconfig.json.fixture"), path.join(consumer, "tsconfig.json"));
    const tsc = path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc");
    const compiled = await run(process.execPath, [tsc, "-p", consumer], consumer);
    expect(compiled.code, compiled.stdout + compiled.stderr).to.equal(0);

    const deployments = path.join(consumer, "deployments");
    saveDeployment({ ...(await deployRegistries(hre)), network: "local" }, deployments);
    const server = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: hre.network.provider });
    const { port } = await server.listen();
    try {
      const env = {
        RPC_URL: `http://127.0.0.1:${port}`,
        DEPLOYMENTS: deployments,
        PATIENT_KEY: anvilDevKey(1),
        CLINIC_KEY: anvilDevKey(2),
      };
      const cjs = await run(process.execPath, [path.join(consumer, "dist", "main.js")], consumer, env);
      expect(cjs.code, cjs.stderr).to.equal(0);
      const result = JSON.parse(cjs.stdout) as Record<string, unknown>;
      expect(result).to.include({ authorized: true, viaTypedAbi: true, viaAbi: true, verified: true });
      expect(result.unknownChain).to.include("No deployment for chain 424242 in ").and.include("deployments");

      const esm = await run(process.execPath, [path.join(consumer, "dist", "esm.mjs")], consumer);
      expect(esm.code, esm.stderr).to.equal(0);
      expect(JSON.parse(esm.stdout)).to.include({ connect: "function", treat: 0, day: 86_400, hasIsAuthorized: true });
    } finally {
      await server.close();
    }
  });
});
