/**
 * End to end on a second client: Anvil (Foundry) instead of Hardhat's in-process chain. The registries are deployed
 * by the same deploy script a testnet deployment uses, with the key taken from the environment; the SDK then drives
 * them over JSON-RPC, and the command-line tasks read the deployment file the script wrote.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet, toUtf8Bytes } from "ethers";

import { Action, Capability, ConsentStatus, Purpose, RecordStatus } from "../../src/codes";
import { connect, type ConsentClient } from "../../src/client";
import { loadDeployment, type Deployment } from "../../src/deployment";
import { anvilDevKey, runHardhat, startAnvil, type AnvilNode, type CommandResult } from "../helpers/anvil";

const DAY = 24 * 60 * 60;

describe("End to end on Anvil", function () {
  this.timeout(120_000);

  let anvil: AnvilNode | undefined;
  let deploymentsDir: string;
  let deployment: Deployment;
  let provider: JsonRpcProvider;
  let deployer: Wallet;
  let patient: Wallet;
  let clinic: Wallet;
  let lab: Wallet;
  let relayer: Wallet;
  let deployOutput: CommandResult;

  /** The environment a testnet deployment would have, pointed at this Anvil node and a temporary folder. */
  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ANVIL_RPC_URL: anvil?.url,
      DEPLOYMENTS_DIR: deploymentsDir,
      // Neutralise anything a developer's .env could set (dotenv never overrides a variable already set).
      DEPLOYER_PRIVATE_KEY: "",
      REGISTRY_ADMIN: "",
      REGISTRAR: "",
      CONFIRM_MAINNET: "",
      IGNITION_DEPLOYMENT_ID: "",
      ...extra,
    };
  }

  function task(args: string[]): Promise<CommandResult> {
    // Without DEPLOYER_PRIVATE_KEY the anvil network signs with the node's unlocked dev accounts (--from <index>).
    return runHardhat([...args, "--network", "anvil"], env());
  }

  function client(wallet: Wallet): ConsentClient {
    return connect(wallet, deployment);
  }

  async function latest(): Promise<number> {
    const block = await provider.getBlock("latest");
    return block?.timestamp ?? 0;
  }

  before(async function () {
    anvil = await startAnvil();
    deploymentsDir = fs.mkdtempSync(path.join(os.tmpdir(), "consent-anvil-"));
    // cacheTimeout -1: ethers otherwise reuses a block number read in the last 250 ms, and a history read right
    // after a transaction would stop one block short.
    provider = new JsonRpcProvider(anvil.url, undefined, {
      staticNetwork: true,
      pollingInterval: 50,
      cacheTimeout: -1,
    });
    [deployer, patient, clinic, lab, relayer] = [0, 1, 2, 3, 4].map((i) => new Wallet(anvilDevKey(i), provider));

    deployOutput = await runHardhat(
      ["run", "--no-compile", "scripts/deploy.ts", "--network", "anvil"],
      env({ DEPLOYER_PRIVATE_KEY: deployer.privateKey }),
    );
    if (deployOutput.code !== 0) {
      throw new Error(`The deploy script failed (${deployOutput.code}): ${deployOutput.stderr || deployOutput.stdout}`);
    }
    deployment = loadDeployment("anvil", deploymentsDir);
  });

  after(async function () {
    await anvil?.stop();
    provider?.destroy();
    if (deploymentsDir) fs.rmSync(deploymentsDir, { recursive: true, force: true });
  });

  describe("the deploy script", function () {
    it("should write the deployment file with the chain, the addresses and the deployer of the key given", async function () {
      expect(deployment.network).to.equal("anvil");
      expect(deployment.chainId).to.equal(anvil?.chainId);
      expect(deployment.deployer).to.equal(deployer.address);
      expect(deployment.registryAdmin).to.equal(deployer.address);
      expect(Object.keys(deployment.transactions)).to.include.members([
        "ProviderRegistry",
        "ConsentRegistry",
        "RecordRegistry",
      ]);
      for (const address of [deployment.providerRegistry, deployment.consentRegistry, deployment.recordRegistry]) {
        expect(await provider.getCode(address)).to.not.equal("0x");
      }
    });

    it("should wire the registries together and make the deployer admin and registrar", async function () {
      const sdk = connect(provider, deployment);
      expect(await sdk.consents.providerRegistry()).to.equal(deployment.providerRegistry);
      expect(await sdk.records.consentRegistry()).to.equal(deployment.consentRegistry);
      expect(await sdk.providers.hasRole(await sdk.providers.DEFAULT_ADMIN_ROLE(), deployer.address)).to.equal(true);
      expect(await sdk.providers.hasRole(await sdk.providers.REGISTRAR_ROLE(), deployer.address)).to.equal(true);
    });

    it("should never print the key", function () {
      const key = deployer.privateKey.slice(2).toLowerCase();
      expect((deployOutput.stdout + deployOutput.stderr).toLowerCase()).to.not.include(key);
    });

    it("should not leave an Ignition journal for the local chain in the repository", function () {
      expect(fs.existsSync(path.join(__dirname, "..", "..", "ignition", "deployments", `chain-${anvil?.chainId}`))).to
        .be.false;
    });
  });

  describe("through the SDK", function () {
    it("should let a registered clinic act on a patient's grant, and record its access", async function () {
      await client(deployer).registerProvider(clinic.address, "npi:e2e-clinic", Capability.TREATMENT);
      const expiresAt = (await latest()) + 30 * DAY;
      await client(patient).grant({
        grantee: clinic.address,
        category: "laboratory",
        purposes: [Purpose.TREAT, Purpose.CAREMGT],
        actions: [Action.ACCESS, Action.USE],
        expiresAt,
      });

      const asClinic = client(clinic);
      expect(await asClinic.isAuthorized(patient.address, clinic.address, "laboratory", Purpose.TREAT, Action.ACCESS))
        .to.be.true;
      expect(await asClinic.isAuthorized(patient.address, clinic.address, "imaging", Purpose.TREAT, Action.ACCESS)).to
        .be.false;
      const receipt = await asClinic.recordAccess(patient.address, "laboratory", Purpose.TREAT, Action.ACCESS);
      expect(receipt.status).to.equal(1);
    });

    it("should accept a grant the patient signed and a relayer submitted", async function () {
      const now = await latest();
      const signed = await client(patient).signGrant(
        {
          grantee: lab.address,
          category: "imaging",
          purposes: [Purpose.TREAT],
          actions: [Action.ACCESS],
          expiresAt: now + 7 * DAY,
        },
        { deadline: now + 3600 },
      );
      // The signed grant travels as JSON, as consent:sign writes it.
      await client(relayer).submitSignedGrant(JSON.parse(JSON.stringify(signed)));

      const { status } = await client(lab).consentOf(patient.address, lab.address, "imaging");
      expect(status).to.equal(ConsentStatus.Active);
    });

    it("should anchor a record and verify the same bytes, and refuse others", async function () {
      const bytes = toUtf8Bytes("synthetic lab report #e2e (no personal data)");
      const anchored = await client(patient).anchor({
        patient: patient.address,
        category: "laboratory",
        bytes,
        uri: "ipfs://e2e",
      });
      expect(anchored.recordId).to.match(/^0x[0-9a-f]{64}$/);

      const sdk = connect(provider, deployment);
      const same = await sdk.verifyFile(patient.address, bytes);
      expect(same.anchored).to.be.true;
      expect(same.status).to.equal(RecordStatus.Active);
      const other = await sdk.verifyFile(patient.address, toUtf8Bytes("tampered"));
      expect(other.anchored).to.be.false;
    });

    it("should rebuild the patient's history from Anvil's logs", async function () {
      const history = await connect(provider, deployment).consentHistory(patient.address);
      expect(history.map((event) => event.kind)).to.deep.equal(["ConsentGranted", "ConsentGranted"]);
    });
  });

  describe("through the tasks", function () {
    it("should answer consent:check from the deployment file the script wrote", async function () {
      const result = await task([
        "consent:check",
        "--patient",
        patient.address,
        "--grantee",
        clinic.address,
        "--category",
        "laboratory",
        "--purpose",
        "TREAT",
        "--action",
        "access",
      ]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.include("authorised: yes");
      expect(result.stdout).to.include("Active");
    });

    it("should revoke with the patient's account (--from) and then answer no", async function () {
      const revoke = await task([
        "consent:revoke",
        "--from",
        patient.address,
        "--grantee",
        clinic.address,
        "--category",
        "laboratory",
      ]);
      expect(revoke.code, revoke.stderr).to.equal(0);
      expect(revoke.stdout).to.match(/gas [\d,]+/);
      const sdk = connect(provider, deployment);
      expect(await sdk.isAuthorized(patient.address, clinic.address, "laboratory", Purpose.TREAT, Action.ACCESS)).to.be
        .false;
    });

    it("should print one line and exit non-zero for a contract refusal and for a wrong input", async function () {
      const nothing = await task([
        "consent:revoke",
        "--from",
        "1",
        "--grantee",
        clinic.address,
        "--category",
        "laboratory",
      ]);
      expect(nothing.code).to.equal(1);
      expect(nothing.stderr.trim().split("\n")).to.have.lengthOf(1);
      expect(nothing.stderr).to.match(/^Error: There is no consent from/);

      const badPurpose = await task([
        "consent:grant",
        "--from",
        "1",
        "--grantee",
        clinic.address,
        "--category",
        "laboratory",
        "--purposes",
        "TREAT,WHATEVER",
        "--actions",
        "access",
        "--duration",
        "30d",
      ]);
      expect(badPurpose.code).to.equal(1);
      expect(badPurpose.stderr.trim().split("\n")).to.have.lengthOf(1);
      expect(badPurpose.stderr).to.include(`Unknown purpose "WHATEVER"`);
      expect(badPurpose.stdout.trim()).to.equal("");
    });
  });
});
