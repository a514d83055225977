import { expect } from "chai";
import { ErrorFragment } from "ethers";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { ANY_CATEGORY, Action, Capability, Purpose, categoryId } from "../../src/codes";
import {
  ConsentRegistry__factory,
  ECDSA__factory,
  ProviderRegistry__factory,
  RecordRegistry__factory,
} from "../../typechain-types";
import {
  ConsentError,
  REGISTRY_ERRORS,
  decodeError,
  describedErrorNames,
  decodeRevertData,
  describeCategory,
  toConsentError,
  withDecodedErrors,
} from "../../src/errors";
import { deploySdk } from "./fixture";

const LAB = categoryId("laboratory");
const P = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const G = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/** A sample value of each ABI type the registries' errors use. */
const SAMPLE: Record<string, unknown> = {
  address: P,
  bytes32: LAB,
  uint256: 1_800_000_000,
  uint40: 1_800_000_000,
  uint32: 1,
  uint8: 1,
  string: "text",
};

/** What `call` threw; fails when it does not throw. */
async function thrown(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  expect.fail("expected the call to throw");
}

describe("errors", function () {
  describe("decodeRevertData", function () {
    it("should turn each registry's custom errors into one sentence", function () {
      const cases: [string, unknown[], string][] = [
        ["NothingToRevoke", [P, G, LAB], `There is no consent from ${P} to ${G} for category laboratory to revoke.`],
        [
          "NotAuthorized",
          [P, G, ANY_CATEGORY, Purpose.HRESCH, Action.DISCLOSE],
          `${G} is not authorised to disclose every category (*) of patient ${P} for purpose HRESCH right now.`,
        ],
        ["InvalidPurposes", [0], "No purposes were given: a consent needs at least one."],
        ["InvalidPurposes", [1025], "The purposes mask 1025 has bits that name no purpose (besides TREAT)."],
        ["InvalidActions", [32], "The actions mask 32 has bits that name no action."],
        [
          "ExpiryNotInFuture",
          [1_700_000_000, 1_800_000_000],
          "The expiry 2023-11-14T22:13:20Z is not after the current block time 2027-01-15T08:00:00Z.",
        ],
        ["UnknownProvider", [G], `${G} is not a registered provider.`],
        ["UriTooLong", [600, 512], "The URI is 600 bytes long; at most 512 are accepted."],
        [
          "AlreadySuperseded",
          [LAB, ethers.ZeroHash],
          `Record ${LAB} was already superseded by ${ethers.ZeroHash}; supersede the newest version.`,
        ],
        [
          "AccessControlUnauthorizedAccount",
          [G, ethers.ZeroHash],
          `${G} does not hold the role DEFAULT_ADMIN_ROLE needed for this.`,
        ],
        ["ECDSAInvalidSignatureLength", [64], "The signature is 64 bytes long; 65 are expected."],
      ];
      for (const [name, args, message] of cases) {
        const decoded = decodeRevertData(REGISTRY_ERRORS.encodeErrorResult(name, args));
        expect(decoded?.name).to.equal(name);
        expect(decoded?.message).to.equal(message);
      }
    });

    it("should name a category by its id when no code is known", function () {
      const record = ethers.id("some record");
      expect(describeCategory(record)).to.equal(`category ${record}`);
      expect(decodeRevertData(REGISTRY_ERRORS.encodeErrorResult("NothingToRevoke", [P, G, record]))?.message).to.equal(
        `There is no consent from ${P} to ${G} for category ${record} to revoke.`,
      );
    });

    it("should have a sentence of its own for every error of every registry's ABI", function () {
      const abis = [
        ConsentRegistry__factory.abi,
        ProviderRegistry__factory.abi,
        RecordRegistry__factory.abi,
        ECDSA__factory.abi,
      ];
      const names = abis.flatMap((abi) =>
        new ethers.Interface(abi).fragments
          .filter((f): f is ErrorFragment => f instanceof ErrorFragment)
          .map((f) => f.name),
      );
      expect(names).to.include.members(["EmergencyAccessAlreadyOpen", "KeyNotProposed", "UnknownBatch"]);
      const described = describedErrorNames();
      expect(
        names.filter((name) => !described.includes(name)),
        "errors without a sentence",
      ).to.deep.equal([]);
      for (const fragment of REGISTRY_ERRORS.fragments.filter((f): f is ErrorFragment => f instanceof ErrorFragment)) {
        const args = fragment.inputs.map((input) => SAMPLE[input.type]);
        const decoded = decodeRevertData(REGISTRY_ERRORS.encodeErrorResult(fragment, args));
        expect(decoded?.name, fragment.name).to.equal(fragment.name);
        expect(decoded?.message, fragment.name).to.not.match(/refused the call with/);
        expect(decoded?.message, fragment.name).to.match(/^[A-Z0-9"].*\.$/);
      }
    });

    it("should explain the errors the hardening added", function () {
      const batch = 7n;
      const leaf = ethers.id("leaf");
      const cases: [string, unknown[], string][] = [
        [
          "DenyInForce",
          [P, G, LAB],
          `Patient ${P} has a deny in force against ${G} that covers category laboratory: a signature can neither ` +
            "lift a deny nor grant past it. The patient (or a live delegate) lifts the deny with a transaction first.",
        ],
        [
          "EmergencyAccessAlreadyOpen",
          [P, G, 1_800_000_000],
          `${G} already has break-glass access to patient ${P} open until 2027-01-15T08:00:00Z: a window is not ` +
            "renewed while open.",
        ],
        [
          "KeyNotProposed",
          [P, G],
          `${G} is not the key provider ${P} proposed: only the proposed key accepts a rotation (the provider ` +
            "proposes it first with rotateKey).",
        ],
        [
          "NotADataCategory",
          [ANY_CATEGORY],
          `"*" (every category) is a scope of consents, never the category of a record: anchor under the record's ` +
            "own category.",
        ],
        ["NotActiveProvider", [G], `${G} is not an active registered provider: only active providers anchor batches.`],
        ["UnknownBatch", [batch], "No batch 7 was anchored."],
        ["BatchItemAlreadyRetracted", [batch, leaf], `The item ${leaf} of batch 7 is already retracted.`],
        [
          "NotAuthorizedBatchRetractor",
          [P, G],
          `${G} may not retract a batch item of patient ${P}: only the patient or a live delegate of the patient may.`,
        ],
        [
          "DelegateIsGrantee",
          [G],
          `Delegate ${G} cannot grant, revoke or deny a consent to itself or to another key of its own provider, nor ` +
            "turn break-glass access on while it is an emergency provider: only the patient can.",
        ],
      ];
      for (const [name, args, message] of cases) {
        expect(decodeRevertData(REGISTRY_ERRORS.encodeErrorResult(name, args))?.message, name).to.equal(message);
      }
    });

    it("should decode Error(string) and Panic(uint256)", function () {
      const coder = ethers.AbiCoder.defaultAbiCoder();
      const reason = "0x08c379a0" + coder.encode(["string"], ["paused"]).slice(2);
      expect(decodeRevertData(reason)).to.include({ name: "Error", message: "paused." });
      const panic = "0x4e487b71" + coder.encode(["uint256"], [0x11]).slice(2);
      expect(decodeRevertData(panic)?.message).to.equal(
        "The contract panicked with code 0x11: arithmetic overflow or underflow.",
      );
    });

    it("should return undefined for unknown selectors and non-data", function () {
      expect(decodeRevertData("0xdeadbeef")).to.be.undefined;
      expect(decodeRevertData("0x12")).to.be.undefined;
      expect(decodeRevertData("hello")).to.be.undefined;
    });
  });

  describe("decodeError", function () {
    const data = REGISTRY_ERRORS.encodeErrorResult("NothingToRevoke", [P, G, LAB]);

    it("should find revert data in the shapes ethers, Hardhat and JSON-RPC nodes use", function () {
      const shapes: unknown[] = [
        { data },
        { code: "CALL_EXCEPTION", info: { error: { code: 3, data } } },
        { error: { data: { data } } },
        {
          error: { body: JSON.stringify({ jsonrpc: "2.0", error: { code: 3, message: "execution reverted", data } }) },
        },
        { cause: { cause: { data } } },
        new Error(`reverted with an unrecognized custom error (return data: ${data})`),
      ];
      for (const shape of shapes) {
        expect(decodeError(shape).name, JSON.stringify(shape)).to.equal("NothingToRevoke");
      }
    });

    it("should use ethers' decoded revert when the data is missing", function () {
      const decoded = decodeError({ code: "CALL_EXCEPTION", revert: { name: "KeyRetired", args: [G] } });
      expect(decoded.message).to.equal(`${G} is a key retired by a key rotation: act on the provider's current key.`);
    });

    it("should fall back to the original message for an unknown error", function () {
      const original = Object.assign(new Error("insufficient funds for intrinsic transaction cost"), {
        code: "INSUFFICIENT_FUNDS",
      });
      expect(decodeError(original)).to.deep.include({ name: "Unknown", decoded: false, message: original.message });
      expect(toConsentError(original)).to.equal(original);
      expect(decodeError({ shortMessage: "could not coalesce error", message: "long" }).message).to.equal(
        "could not coalesce error",
      );
      expect(decodeError("boom").message).to.equal("boom");
    });

    it("should pass a ConsentError through unchanged", async function () {
      const error = toConsentError({ data });
      expect(error).to.be.instanceOf(ConsentError);
      expect(toConsentError(error)).to.equal(error);
      expect(decodeError(error).name).to.equal("NothingToRevoke");
      expect(await thrown(() => withDecodedErrors(() => Promise.reject(error)))).to.equal(error);
    });
  });

  describe("with real reverts", function () {
    it("should decode reverts of the three registries on Hardhat's in-process network", async function () {
      const { consents, providers, records, patient, clinic, stranger } = await loadFixture(deploySdk);

      const revoke = decodeError(await thrown(() => consents.connect(patient).revoke(clinic.address, LAB)));
      expect(revoke.name).to.equal("NothingToRevoke");
      expect(revoke.args).to.deep.equal([patient.address, clinic.address, LAB]);

      const expired = decodeError(
        await thrown(async () =>
          consents
            .connect(patient)
            .grant(clinic.address, LAB, 1, 2, (await time.latest()) - 100, (await time.latest()) - 1),
        ),
      );
      expect(expired.name).to.equal("ExpiryNotInFuture");
      expect(expired.message).to.match(/^The expiry .* is not after the current block time/);

      const registrar = decodeError(
        await thrown(() => providers.connect(stranger).register(stranger.address, ethers.ZeroHash, 1, "")),
      );
      expect(registrar.message).to.equal(`${stranger.address} does not hold the role REGISTRAR_ROLE needed for this.`);

      const writer = decodeError(
        await thrown(() => records.connect(stranger).anchor(patient.address, LAB, ethers.id("x"), ethers.ZeroHash, "")),
      );
      expect(writer.name).to.equal("NotAuthorizedWriter");

      const access = decodeError(
        await thrown(() =>
          consents
            .connect(clinic)
            .recordAccess.staticCall(patient.address, LAB, Purpose.TREAT, Action.ACCESS, ethers.ZeroHash),
        ),
      );
      expect(access.message).to.equal(
        `${clinic.address} is not authorised to access category laboratory of patient ${patient.address} for purpose TREAT right now.`,
      );
    });

    it("should decode a revert through a contract that does not know the registry's errors", async function () {
      const { consents, patient, clinic } = await loadFixture(deploySdk);
      const bare = new ethers.Contract(await consents.getAddress(), ["function revoke(address,bytes32)"], patient);
      const decoded = decodeError(await thrown(() => bare.revoke(clinic.address, LAB)));
      expect(decoded.name).to.equal("NothingToRevoke");
    });

    it("should decode reverts returned by a JSON-RPC endpoint", async function () {
      const { deployment, client, patient, clinic, emergencyDoctor } = await loadFixture(deploySdk);
      // An EIP-1193 JSON-RPC provider: errors come back as JSON-RPC error objects, as from a node.
      const rpc = new ethers.BrowserProvider(network.provider);
      const viaRpc = client(await rpc.getSigner(patient.address));
      expect(viaRpc.deployment.consentRegistry).to.equal(deployment.consentRegistry);
      const error = (await thrown(() => viaRpc.revoke(clinic.address, "laboratory"))) as ConsentError;
      expect(error).to.be.instanceOf(ConsentError);
      expect(error.message).to.equal(
        `There is no consent from ${patient.address} to ${clinic.address} for category laboratory to revoke.`,
      );

      const doctor = client(await rpc.getSigner(emergencyDoctor.address));
      await client(patient).setEmergencyAccess(false);
      const refused = (await thrown(() => doctor.emergencyAccess(patient.address, "trauma"))) as ConsentError;
      expect(refused.errorName).to.equal("EmergencyAccessRefused");
    });

    it("should decode provider registry reverts through the client", async function () {
      const { registrarClient, clinic } = await loadFixture(deploySdk);
      const again = (await thrown(() =>
        registrarClient.registerProvider(clinic.address, "npi:again", Capability.TREATMENT),
      )) as ConsentError;
      expect(again.errorName).to.equal("AlreadyRegistered");
      expect(again.message).to.equal(`${clinic.address} is, or once was, a registered provider.`);
      const reinstate = (await thrown(() => registrarClient.reinstateProvider(clinic.address))) as ConsentError;
      expect(reinstate.message).to.equal(
        `Provider ${clinic.address} is not suspended, so there is nothing to reinstate.`,
      );
    });
  });
});
