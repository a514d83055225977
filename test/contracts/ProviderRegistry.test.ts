import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import type { ProviderRegistry } from "../../typechain-types";
import {
  Action,
  ALL_CAPABILITIES,
  Capability,
  categoryId,
  MAX_URI_LENGTH,
  ProviderStatus,
  Purpose,
  RecordStatus,
} from "../../src/codes";
import { DAY, deployRegistries, deployWithProviders, rotateKey } from "../helpers/fixtures";

const LAB = categoryId("laboratory");
const NPI = ethers.id("npi:new-provider");
const REASON = ethers.id("licence under review");
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
const REGISTRAR_ROLE = ethers.id("REGISTRAR_ROLE");

/** {deployWithProviders}, plus two fresh accounts a provider can rotate its key to. */
async function deployWithSpareKeys() {
  const fixture = await deployWithProviders();
  const signers = await ethers.getSigners();
  return { ...fixture, newKey: signers[10], newerKey: signers[11] };
}

/** Reads the entry of `account` as a plain object. */
async function entryOf(providers: ProviderRegistry, account: HardhatEthersSigner | string) {
  const address = typeof account === "string" ? account : account.address;
  const entry = await providers.providerOf(address);
  return {
    id: entry.id,
    capabilities: Number(entry.capabilities),
    status: Number(entry.status),
    registeredAt: Number(entry.registeredAt),
    identifierHash: entry.identifierHash,
  };
}

describe("ProviderRegistry", function () {
  describe("constructor", function () {
    it("should give DEFAULT_ADMIN_ROLE to the admin and REGISTRAR_ROLE to the registrar", async function () {
      const { providers, admin, registrar } = await loadFixture(deployRegistries);
      expect(await providers.REGISTRAR_ROLE()).to.equal(REGISTRAR_ROLE);
      expect(await providers.DEFAULT_ADMIN_ROLE()).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await providers.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.be.true;
      expect(await providers.hasRole(REGISTRAR_ROLE, registrar.address)).to.be.true;
      expect(await providers.hasRole(REGISTRAR_ROLE, admin.address)).to.be.false;
      expect(await providers.hasRole(DEFAULT_ADMIN_ROLE, registrar.address)).to.be.false;
    });

    it("should make DEFAULT_ADMIN_ROLE the admin of REGISTRAR_ROLE", async function () {
      const { providers } = await loadFixture(deployRegistries);
      expect(await providers.getRoleAdmin(REGISTRAR_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
    });

    it("should revert with ZeroAddress when the admin is the zero address", async function () {
      const { registrar } = await loadFixture(deployRegistries);
      const factory = await ethers.getContractFactory("ProviderRegistry");
      await expect(factory.deploy(ethers.ZeroAddress, registrar.address)).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
    });

    context("when the registrar is the zero address", function () {
      async function deployWithoutRegistrar() {
        const [admin, registrar, clinic] = await ethers.getSigners();
        const providers = (await ethers.deployContract("ProviderRegistry", [
          admin.address,
          ethers.ZeroAddress,
        ])) as unknown as ProviderRegistry;
        return { providers, admin, registrar, clinic };
      }

      it("should deploy with no registrar at all", async function () {
        const { providers, registrar } = await loadFixture(deployWithoutRegistrar);
        expect(await providers.hasRole(REGISTRAR_ROLE, ethers.ZeroAddress)).to.be.false;
        expect(await providers.hasRole(REGISTRAR_ROLE, registrar.address)).to.be.false;
        await expect(providers.connect(registrar).register(registrar.address, NPI, Capability.TREATMENT, ""))
          .to.be.revertedWithCustomError(providers, "AccessControlUnauthorizedAccount")
          .withArgs(registrar.address, REGISTRAR_ROLE);
      });

      it("should let the admin appoint a registrar later, who can then register providers", async function () {
        const { providers, admin, registrar, clinic } = await loadFixture(deployWithoutRegistrar);
        await providers.connect(admin).grantRole(REGISTRAR_ROLE, registrar.address);
        await expect(providers.connect(registrar).register(clinic.address, NPI, Capability.TREATMENT, "")).to.emit(
          providers,
          "ProviderRegistered",
        );
        expect(await providers.isActive(clinic.address)).to.be.true;
      });
    });
  });

  describe("roles", function () {
    it("should let the admin grant REGISTRAR_ROLE", async function () {
      const { providers, admin, other } = await loadFixture(deployRegistries);
      await expect(providers.connect(admin).grantRole(REGISTRAR_ROLE, other.address))
        .to.emit(providers, "RoleGranted")
        .withArgs(REGISTRAR_ROLE, other.address, admin.address);
      expect(await providers.hasRole(REGISTRAR_ROLE, other.address)).to.be.true;
      await expect(providers.connect(other).register(other.address, NPI, Capability.TREATMENT, "")).to.emit(
        providers,
        "ProviderRegistered",
      );
    });

    it("should let the admin revoke REGISTRAR_ROLE, after which the registrar can no longer register", async function () {
      const { providers, admin, registrar, clinic } = await loadFixture(deployRegistries);
      await expect(providers.connect(admin).revokeRole(REGISTRAR_ROLE, registrar.address))
        .to.emit(providers, "RoleRevoked")
        .withArgs(REGISTRAR_ROLE, registrar.address, admin.address);
      expect(await providers.hasRole(REGISTRAR_ROLE, registrar.address)).to.be.false;
      await expect(providers.connect(registrar).register(clinic.address, NPI, Capability.TREATMENT, ""))
        .to.be.revertedWithCustomError(providers, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, REGISTRAR_ROLE);
    });

    it("should not let a registrar grant REGISTRAR_ROLE", async function () {
      const { providers, registrar, other } = await loadFixture(deployRegistries);
      await expect(providers.connect(registrar).grantRole(REGISTRAR_ROLE, other.address))
        .to.be.revertedWithCustomError(providers, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, DEFAULT_ADMIN_ROLE);
    });

    it("should not let a registrar grant DEFAULT_ADMIN_ROLE or revoke another registrar", async function () {
      const { providers, admin, registrar, other } = await loadFixture(deployRegistries);
      await providers.connect(admin).grantRole(REGISTRAR_ROLE, other.address);
      await expect(providers.connect(registrar).grantRole(DEFAULT_ADMIN_ROLE, registrar.address))
        .to.be.revertedWithCustomError(providers, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, DEFAULT_ADMIN_ROLE);
      await expect(providers.connect(registrar).revokeRole(REGISTRAR_ROLE, other.address))
        .to.be.revertedWithCustomError(providers, "AccessControlUnauthorizedAccount")
        .withArgs(registrar.address, DEFAULT_ADMIN_ROLE);
    });

    it("should not let the admin register providers without holding REGISTRAR_ROLE", async function () {
      const { providers, admin, clinic } = await loadFixture(deployRegistries);
      await expect(providers.connect(admin).register(clinic.address, NPI, Capability.TREATMENT, ""))
        .to.be.revertedWithCustomError(providers, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, REGISTRAR_ROLE);
    });

    it("should refuse every registrar function to a non-registrar", async function () {
      const { providers, stranger, clinic } = await loadFixture(deployWithProviders);
      const asStranger = providers.connect(stranger);
      for (const call of [
        asStranger.register(stranger.address, NPI, Capability.TREATMENT, ""),
        asStranger.setCapabilities(clinic.address, ALL_CAPABILITIES),
        asStranger.suspend(clinic.address, REASON),
        asStranger.reinstate(clinic.address),
      ]) {
        await expect(call)
          .to.be.revertedWithCustomError(providers, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, REGISTRAR_ROLE);
      }
    });
  });

  describe("register", function () {
    it("should register an active provider whose id is its own address, and emit ProviderRegistered", async function () {
      const { providers, registrar, lab } = await loadFixture(deployRegistries);
      const at = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(at);
      await expect(
        providers
          .connect(registrar)
          .register(lab.address, NPI, Capability.TREATMENT | Capability.RESEARCH, "ipfs://bafy-provider-metadata"),
      )
        .to.emit(providers, "ProviderRegistered")
        .withArgs(
          lab.address,
          NPI,
          Capability.TREATMENT | Capability.RESEARCH,
          "ipfs://bafy-provider-metadata",
          registrar.address,
        );
      expect(await entryOf(providers, lab)).to.deep.equal({
        id: lab.address,
        capabilities: Capability.TREATMENT | Capability.RESEARCH,
        status: ProviderStatus.Active,
        registeredAt: at,
        identifierHash: NPI,
      });
      expect(await providers.isActive(lab.address)).to.be.true;
    });

    it("should accept every known capability at once", async function () {
      const { providers, registrar, lab } = await loadFixture(deployRegistries);
      await providers.connect(registrar).register(lab.address, NPI, ALL_CAPABILITIES, "");
      expect(await providers.hasCapability(lab.address, ALL_CAPABILITIES)).to.be.true;
    });

    it("should revert with ZeroAddress for the zero address", async function () {
      const { providers, registrar } = await loadFixture(deployRegistries);
      await expect(
        providers.connect(registrar).register(ethers.ZeroAddress, NPI, Capability.TREATMENT, ""),
      ).to.be.revertedWithCustomError(providers, "ZeroAddress");
    });

    it("should revert with AlreadyRegistered for a registered address", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await expect(providers.connect(registrar).register(clinic.address, NPI, Capability.TREATMENT, ""))
        .to.be.revertedWithCustomError(providers, "AlreadyRegistered")
        .withArgs(clinic.address);
    });

    it("should revert with AlreadyRegistered for a suspended provider", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await providers.connect(registrar).suspend(clinic.address, REASON);
      await expect(providers.connect(registrar).register(clinic.address, NPI, Capability.TREATMENT, ""))
        .to.be.revertedWithCustomError(providers, "AlreadyRegistered")
        .withArgs(clinic.address);
    });

    it("should revert with EmptyCapabilities for an empty mask", async function () {
      const { providers, registrar, lab } = await loadFixture(deployRegistries);
      await expect(providers.connect(registrar).register(lab.address, NPI, 0, "")).to.be.revertedWithCustomError(
        providers,
        "EmptyCapabilities",
      );
    });

    it("should revert with UnknownCapabilities for bits that name no capability", async function () {
      const { providers, registrar, lab } = await loadFixture(deployRegistries);
      for (const mask of [8, Capability.TREATMENT | 8, 0x80, 0xff]) {
        await expect(providers.connect(registrar).register(lab.address, NPI, mask, ""))
          .to.be.revertedWithCustomError(providers, "UnknownCapabilities")
          .withArgs(mask);
      }
    });

    it("should accept a metadata URI of exactly 512 bytes", async function () {
      const { providers, registrar, lab } = await loadFixture(deployRegistries);
      const uri = "x".repeat(MAX_URI_LENGTH);
      await expect(providers.connect(registrar).register(lab.address, NPI, Capability.TREATMENT, uri))
        .to.emit(providers, "ProviderRegistered")
        .withArgs(lab.address, NPI, Capability.TREATMENT, uri, registrar.address);
    });

    it("should revert with UriTooLong for a metadata URI of 513 bytes", async function () {
      const { providers, registrar, lab } = await loadFixture(deployRegistries);
      await expect(providers.connect(registrar).register(lab.address, NPI, Capability.TREATMENT, "x".repeat(513)))
        .to.be.revertedWithCustomError(providers, "UriTooLong")
        .withArgs(513, MAX_URI_LENGTH);
    });

    it("should count the URI length in bytes, not characters", async function () {
      const { providers, registrar, lab } = await loadFixture(deployRegistries);
      const uri = "é".repeat(257); // 514 bytes in UTF-8
      await expect(providers.connect(registrar).register(lab.address, NPI, Capability.TREATMENT, uri))
        .to.be.revertedWithCustomError(providers, "UriTooLong")
        .withArgs(514, MAX_URI_LENGTH);
    });
  });

  describe("setCapabilities", function () {
    it("should set the capabilities and emit CapabilitiesChanged", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      const mask = Capability.TREATMENT | Capability.EMERGENCY;
      await expect(providers.connect(registrar).setCapabilities(clinic.address, mask))
        .to.emit(providers, "CapabilitiesChanged")
        .withArgs(clinic.address, mask, registrar.address);
      expect((await entryOf(providers, clinic)).capabilities).to.equal(mask);
      expect(await providers.hasCapability(clinic.address, Capability.EMERGENCY)).to.be.true;
    });

    it("should remove capabilities", async function () {
      const { providers, registrar, emergencyDoctor } = await loadFixture(deployWithProviders);
      await providers.connect(registrar).setCapabilities(emergencyDoctor.address, Capability.TREATMENT);
      expect(await providers.hasCapability(emergencyDoctor.address, Capability.EMERGENCY)).to.be.false;
      expect(await providers.hasCapability(emergencyDoctor.address, Capability.TREATMENT)).to.be.true;
    });

    it("should set the capabilities of a suspended provider", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await providers.connect(registrar).suspend(clinic.address, REASON);
      await providers.connect(registrar).setCapabilities(clinic.address, Capability.RESEARCH);
      const entry = await entryOf(providers, clinic);
      expect(entry.capabilities).to.equal(Capability.RESEARCH);
      expect(entry.status).to.equal(ProviderStatus.Suspended);
    });

    it("should revert with EmptyCapabilities for an empty mask", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await expect(providers.connect(registrar).setCapabilities(clinic.address, 0)).to.be.revertedWithCustomError(
        providers,
        "EmptyCapabilities",
      );
    });

    it("should revert with UnknownCapabilities for bits that name no capability", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await expect(providers.connect(registrar).setCapabilities(clinic.address, 9))
        .to.be.revertedWithCustomError(providers, "UnknownCapabilities")
        .withArgs(9);
    });
  });

  describe("suspend", function () {
    it("should suspend an active provider and emit ProviderSuspended", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await expect(providers.connect(registrar).suspend(clinic.address, REASON))
        .to.emit(providers, "ProviderSuspended")
        .withArgs(clinic.address, REASON, registrar.address);
      expect(await providers.isActive(clinic.address)).to.be.false;
      expect((await entryOf(providers, clinic)).status).to.equal(ProviderStatus.Suspended);
    });

    it("should withdraw nothing, and emit no KeyRotationProposed, when no key was proposed", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await expect(providers.connect(registrar).suspend(clinic.address, REASON)).not.to.emit(
        providers,
        "KeyRotationProposed",
      );
    });

    it("should keep the provider's id, capabilities and identifier hash", async function () {
      const { providers, registrar, emergencyDoctor } = await loadFixture(deployWithProviders);
      const before = await entryOf(providers, emergencyDoctor);
      await providers.connect(registrar).suspend(emergencyDoctor.address, REASON);
      expect(await entryOf(providers, emergencyDoctor)).to.deep.equal({ ...before, status: ProviderStatus.Suspended });
    });

    it("should revert with AlreadySuspended for a suspended provider", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await providers.connect(registrar).suspend(clinic.address, REASON);
      await expect(providers.connect(registrar).suspend(clinic.address, REASON))
        .to.be.revertedWithCustomError(providers, "AlreadySuspended")
        .withArgs(clinic.address);
    });
  });

  describe("reinstate", function () {
    it("should reinstate a suspended provider and emit ProviderReinstated", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await providers.connect(registrar).suspend(clinic.address, REASON);
      await expect(providers.connect(registrar).reinstate(clinic.address))
        .to.emit(providers, "ProviderReinstated")
        .withArgs(clinic.address, registrar.address);
      expect(await providers.isActive(clinic.address)).to.be.true;
      expect((await entryOf(providers, clinic)).status).to.equal(ProviderStatus.Active);
    });

    it("should revert with NotSuspended for an active provider", async function () {
      const { providers, registrar, clinic } = await loadFixture(deployWithProviders);
      await expect(providers.connect(registrar).reinstate(clinic.address))
        .to.be.revertedWithCustomError(providers, "NotSuspended")
        .withArgs(clinic.address);
    });
  });

  describe("registrar functions on an unknown or retired address", function () {
    it("should revert with UnknownProvider for an unregistered address", async function () {
      const { providers, registrar, stranger } = await loadFixture(deployWithProviders);
      const asRegistrar = providers.connect(registrar);
      for (const call of [
        asRegistrar.setCapabilities(stranger.address, Capability.TREATMENT),
        asRegistrar.suspend(stranger.address, REASON),
        asRegistrar.reinstate(stranger.address),
      ]) {
        await expect(call).to.be.revertedWithCustomError(providers, "UnknownProvider").withArgs(stranger.address);
      }
    });

    it("should revert with KeyRetired for a key retired by a rotation", async function () {
      const { providers, registrar, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      await rotateKey(providers, clinic, newKey);
      const asRegistrar = providers.connect(registrar);
      for (const call of [
        asRegistrar.setCapabilities(clinic.address, Capability.TREATMENT),
        asRegistrar.suspend(clinic.address, REASON),
        asRegistrar.reinstate(clinic.address),
      ]) {
        await expect(call).to.be.revertedWithCustomError(providers, "KeyRetired").withArgs(clinic.address);
      }
    });
  });

  describe("rotateKey: a proposal", function () {
    it("should only propose: emit KeyRotationProposed and change no entry", async function () {
      const { providers, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      const before = await entryOf(providers, clinic);
      await expect(providers.connect(clinic).rotateKey(newKey.address))
        .to.emit(providers, "KeyRotationProposed")
        .withArgs(clinic.address, clinic.address, newKey.address)
        .and.not.to.emit(providers, "KeyRotated");
      expect(await providers.proposedKeyOf(clinic.address)).to.equal(newKey.address);
      expect(await entryOf(providers, clinic)).to.deep.equal(before);
      expect((await entryOf(providers, newKey)).status).to.equal(ProviderStatus.None);
      expect(await providers.isActive(clinic.address)).to.be.true;
      expect(await providers.currentKeyOf(clinic.address)).to.equal(clinic.address);
    });

    it("should replace an earlier proposal, and withdraw it when proposing the zero address", async function () {
      const { providers, clinic, newKey, newerKey } = await loadFixture(deployWithSpareKeys);
      await providers.connect(clinic).rotateKey(newKey.address);
      await providers.connect(clinic).rotateKey(newerKey.address);
      expect(await providers.proposedKeyOf(clinic.address)).to.equal(newerKey.address);
      await expect(providers.connect(newKey).acceptKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "KeyNotProposed")
        .withArgs(clinic.address, newKey.address);
      await expect(providers.connect(clinic).rotateKey(ethers.ZeroAddress))
        .to.emit(providers, "KeyRotationProposed")
        .withArgs(clinic.address, clinic.address, ethers.ZeroAddress);
      expect(await providers.proposedKeyOf(clinic.address)).to.equal(ethers.ZeroAddress);
      await expect(providers.connect(newerKey).acceptKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "KeyNotProposed")
        .withArgs(clinic.address, newerKey.address);
    });

    it("should revert with AlreadyRegistered when proposing another provider's key", async function () {
      const { providers, clinic, emergencyDoctor } = await loadFixture(deployWithSpareKeys);
      await expect(providers.connect(clinic).rotateKey(emergencyDoctor.address))
        .to.be.revertedWithCustomError(providers, "AlreadyRegistered")
        .withArgs(emergencyDoctor.address);
    });

    it("should revert with AlreadyRegistered when proposing a retired key or the caller's own", async function () {
      const { providers, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      await expect(providers.connect(clinic).rotateKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "AlreadyRegistered")
        .withArgs(clinic.address);
      await rotateKey(providers, clinic, newKey);
      await expect(providers.connect(newKey).rotateKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "AlreadyRegistered")
        .withArgs(clinic.address);
    });

    it("should revert with ProviderNotActive for a suspended provider", async function () {
      const { providers, registrar, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      await providers.connect(registrar).suspend(clinic.address, REASON);
      await expect(providers.connect(clinic).rotateKey(newKey.address))
        .to.be.revertedWithCustomError(providers, "ProviderNotActive")
        .withArgs(clinic.address);
    });

    it("should revert with UnknownProvider for a stranger, and KeyRetired for a retired key", async function () {
      const { providers, stranger, clinic, newKey, newerKey } = await loadFixture(deployWithSpareKeys);
      await expect(providers.connect(stranger).rotateKey(newKey.address))
        .to.be.revertedWithCustomError(providers, "UnknownProvider")
        .withArgs(stranger.address);
      await rotateKey(providers, clinic, newKey);
      await expect(providers.connect(clinic).rotateKey(newerKey.address))
        .to.be.revertedWithCustomError(providers, "KeyRetired")
        .withArgs(clinic.address);
    });

    it("should not need REGISTRAR_ROLE", async function () {
      const { providers, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      expect(await providers.hasRole(REGISTRAR_ROLE, clinic.address)).to.be.false;
      await expect(providers.connect(clinic).rotateKey(newKey.address)).to.emit(providers, "KeyRotationProposed");
    });
  });

  describe("acceptKey: the new key agrees", function () {
    it("should move the registration to the new key, retire the old one and emit KeyRotated", async function () {
      const { providers, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      const before = await entryOf(providers, clinic);
      await providers.connect(clinic).rotateKey(newKey.address);
      await expect(providers.connect(newKey).acceptKey(clinic.address))
        .to.emit(providers, "KeyRotated")
        .withArgs(clinic.address, clinic.address, newKey.address);
      expect(await entryOf(providers, newKey)).to.deep.equal(before);
      expect(await providers.isActive(newKey.address)).to.be.true;
      expect(await providers.hasCapability(newKey.address, Capability.TREATMENT)).to.be.true;
      expect(await providers.proposedKeyOf(clinic.address)).to.equal(ethers.ZeroAddress);
      expect(await providers.currentKeyOf(clinic.address)).to.equal(newKey.address);
      expect(await providers.keysOf(clinic.address)).to.deep.equal([clinic.address, newKey.address]);
    });

    it("should retire the old key: not active, status Retired, no capability", async function () {
      const { providers, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      const before = await entryOf(providers, clinic);
      await rotateKey(providers, clinic, newKey);
      expect(await providers.isActive(clinic.address)).to.be.false;
      expect(await providers.hasCapability(clinic.address, Capability.TREATMENT)).to.be.false;
      expect(await entryOf(providers, clinic)).to.deep.equal({ ...before, status: ProviderStatus.Retired });
      const [id, status, capabilities] = await providers.resolve(clinic.address);
      expect([id, Number(status), Number(capabilities)]).to.deep.equal([
        clinic.address,
        ProviderStatus.Retired,
        Capability.TREATMENT,
      ]);
    });

    it("should revert with KeyNotProposed for an address that was never proposed", async function () {
      const { providers, clinic, newKey, stranger } = await loadFixture(deployWithSpareKeys);
      await expect(providers.connect(newKey).acceptKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "KeyNotProposed")
        .withArgs(clinic.address, newKey.address);
      await providers.connect(clinic).rotateKey(newKey.address);
      await expect(providers.connect(stranger).acceptKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "KeyNotProposed")
        .withArgs(clinic.address, stranger.address);
      // A proposal is for one provider: the key cannot accept it as another's.
      await expect(providers.connect(newKey).acceptKey(stranger.address))
        .to.be.revertedWithCustomError(providers, "KeyNotProposed")
        .withArgs(stranger.address, newKey.address);
      expect(await providers.currentKeyOf(clinic.address)).to.equal(clinic.address);
    });

    it("should accept only once", async function () {
      const { providers, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      await rotateKey(providers, clinic, newKey);
      await expect(providers.connect(newKey).acceptKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "KeyNotProposed")
        .withArgs(clinic.address, newKey.address);
    });

    it("should refuse a proposal withdrawn by a suspension, during it and after a reinstatement", async function () {
      const { providers, registrar, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      await providers.connect(clinic).rotateKey(newKey.address);
      await expect(providers.connect(registrar).suspend(clinic.address, REASON))
        .to.emit(providers, "KeyRotationProposed")
        .withArgs(clinic.address, clinic.address, ethers.ZeroAddress);
      expect(await providers.proposedKeyOf(clinic.address)).to.equal(ethers.ZeroAddress);
      await expect(providers.connect(newKey).acceptKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "KeyNotProposed")
        .withArgs(clinic.address, newKey.address);
      await providers.connect(registrar).reinstate(clinic.address);
      await expect(providers.connect(newKey).acceptKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "KeyNotProposed")
        .withArgs(clinic.address, newKey.address);
      await providers.connect(clinic).rotateKey(newKey.address); // proposed again, once reinstated
      await expect(providers.connect(newKey).acceptKey(clinic.address)).to.emit(providers, "KeyRotated");
    });

    it("should revert with AlreadyRegistered when the proposed key was registered meanwhile", async function () {
      const { providers, registrar, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      await providers.connect(clinic).rotateKey(newKey.address);
      await providers.connect(registrar).register(newKey.address, NPI, Capability.RESEARCH, "");
      await expect(providers.connect(newKey).acceptKey(clinic.address))
        .to.be.revertedWithCustomError(providers, "AlreadyRegistered")
        .withArgs(newKey.address);
    });

    it("should never let the old key be reinstated, suspended or registered again", async function () {
      const { providers, registrar, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      await rotateKey(providers, clinic, newKey);
      await expect(providers.connect(registrar).reinstate(clinic.address))
        .to.be.revertedWithCustomError(providers, "KeyRetired")
        .withArgs(clinic.address);
      await expect(providers.connect(registrar).suspend(clinic.address, REASON))
        .to.be.revertedWithCustomError(providers, "KeyRetired")
        .withArgs(clinic.address);
      await expect(providers.connect(registrar).register(clinic.address, NPI, Capability.TREATMENT, ""))
        .to.be.revertedWithCustomError(providers, "AlreadyRegistered")
        .withArgs(clinic.address);
    });

    it("should let the registrar manage the provider through the new key", async function () {
      const { providers, registrar, clinic, newKey } = await loadFixture(deployWithSpareKeys);
      await rotateKey(providers, clinic, newKey);
      await expect(providers.connect(registrar).suspend(newKey.address, REASON))
        .to.emit(providers, "ProviderSuspended")
        .withArgs(newKey.address, REASON, registrar.address);
      expect(await providers.isActive(newKey.address)).to.be.false;
      await providers.connect(registrar).reinstate(newKey.address);
      expect(await providers.isActive(newKey.address)).to.be.true;
      expect((await entryOf(providers, clinic)).status).to.equal(ProviderStatus.Retired);
    });

    it("should rotate twice, A -> B -> C, keeping the first id and listing every key", async function () {
      const { providers, clinic, newKey, newerKey } = await loadFixture(deployWithSpareKeys);
      const original = await entryOf(providers, clinic);
      await rotateKey(providers, clinic, newKey);
      await providers.connect(newKey).rotateKey(newerKey.address);
      await expect(providers.connect(newerKey).acceptKey(clinic.address))
        .to.emit(providers, "KeyRotated")
        .withArgs(clinic.address, newKey.address, newerKey.address);
      expect(await entryOf(providers, newerKey)).to.deep.equal(original);
      expect((await entryOf(providers, newKey)).status).to.equal(ProviderStatus.Retired);
      expect((await entryOf(providers, clinic)).status).to.equal(ProviderStatus.Retired);
      expect(await providers.isActive(newerKey.address)).to.be.true;
      expect(await providers.isActive(newKey.address)).to.be.false;
      expect(await providers.isActive(clinic.address)).to.be.false;
      for (const key of [clinic, newKey, newerKey]) {
        expect((await providers.resolve(key.address)).id).to.equal(clinic.address);
      }
      expect(await providers.keysOf(clinic.address)).to.deep.equal([clinic.address, newKey.address, newerKey.address]);
      expect(await providers.currentKeyOf(clinic.address)).to.equal(newerKey.address);
    });
  });

  describe("views", function () {
    describe("keysOf and currentKeyOf", function () {
      it("should list a provider never rotated by its id alone, and nothing for an unknown address", async function () {
        const { providers, clinic, stranger } = await loadFixture(deployWithProviders);
        expect(await providers.keysOf(clinic.address)).to.deep.equal([clinic.address]);
        expect(await providers.currentKeyOf(clinic.address)).to.equal(clinic.address);
        expect(await providers.keysOf(stranger.address)).to.deep.equal([]);
        expect(await providers.currentKeyOf(stranger.address)).to.equal(ethers.ZeroAddress);
        expect(await providers.proposedKeyOf(stranger.address)).to.equal(ethers.ZeroAddress);
      });
    });

    describe("isActive", function () {
      it("should be true only for an active provider", async function () {
        const { providers, registrar, clinic, emergencyDoctor, stranger } = await loadFixture(deployWithProviders);
        await providers.connect(registrar).suspend(emergencyDoctor.address, REASON);
        expect(await providers.isActive(clinic.address)).to.be.true;
        expect(await providers.isActive(emergencyDoctor.address)).to.be.false;
        expect(await providers.isActive(stranger.address)).to.be.false;
        expect(await providers.isActive(ethers.ZeroAddress)).to.be.false;
      });
    });

    describe("hasCapability", function () {
      it("should be true only when the provider has every bit asked for", async function () {
        const { providers, clinic, emergencyDoctor } = await loadFixture(deployWithProviders);
        const both = Capability.TREATMENT | Capability.EMERGENCY;
        expect(await providers.hasCapability(emergencyDoctor.address, Capability.EMERGENCY)).to.be.true;
        expect(await providers.hasCapability(emergencyDoctor.address, both)).to.be.true;
        expect(await providers.hasCapability(emergencyDoctor.address, Capability.RESEARCH)).to.be.false;
        expect(await providers.hasCapability(emergencyDoctor.address, ALL_CAPABILITIES)).to.be.false;
        expect(await providers.hasCapability(clinic.address, Capability.TREATMENT)).to.be.true;
        expect(await providers.hasCapability(clinic.address, both)).to.be.false;
      });

      it("should be false for a suspended provider and for an unregistered address", async function () {
        const { providers, registrar, emergencyDoctor, stranger } = await loadFixture(deployWithProviders);
        await providers.connect(registrar).suspend(emergencyDoctor.address, REASON);
        expect(await providers.hasCapability(emergencyDoctor.address, Capability.EMERGENCY)).to.be.false;
        expect(await providers.hasCapability(stranger.address, Capability.TREATMENT)).to.be.false;
      });

      it("should be false for an empty mask, which names no capability", async function () {
        const { providers, emergencyDoctor } = await loadFixture(deployWithProviders);
        expect(await providers.hasCapability(emergencyDoctor.address, 0)).to.be.false;
      });
    });

    describe("providerOf", function () {
      it("should return a zeroed entry for an unregistered address", async function () {
        const { providers, stranger } = await loadFixture(deployWithProviders);
        expect(await entryOf(providers, stranger)).to.deep.equal({
          id: ethers.ZeroAddress,
          capabilities: 0,
          status: ProviderStatus.None,
          registeredAt: 0,
          identifierHash: ethers.ZeroHash,
        });
      });
    });

    describe("resolve", function () {
      it("should return the id, status and capabilities of a provider", async function () {
        const { providers, registrar, emergencyDoctor } = await loadFixture(deployWithProviders);
        const both = Capability.TREATMENT | Capability.EMERGENCY;
        let [id, status, capabilities] = await providers.resolve(emergencyDoctor.address);
        expect([id, Number(status), Number(capabilities)]).to.deep.equal([
          emergencyDoctor.address,
          ProviderStatus.Active,
          both,
        ]);
        await providers.connect(registrar).suspend(emergencyDoctor.address, REASON);
        [id, status, capabilities] = await providers.resolve(emergencyDoctor.address);
        expect([id, Number(status), Number(capabilities)]).to.deep.equal([
          emergencyDoctor.address,
          ProviderStatus.Suspended,
          both,
        ]);
      });

      it("should resolve a rotated key to the provider's first address", async function () {
        const { providers, clinic, newKey } = await loadFixture(deployWithSpareKeys);
        await rotateKey(providers, clinic, newKey);
        const [id, status, capabilities] = await providers.resolve(newKey.address);
        expect([id, Number(status), Number(capabilities)]).to.deep.equal([
          clinic.address,
          ProviderStatus.Active,
          Capability.TREATMENT,
        ]);
      });

      it("should resolve an unregistered address to itself with status None and no capability", async function () {
        const { providers, stranger } = await loadFixture(deployWithProviders);
        const [id, status, capabilities] = await providers.resolve(stranger.address);
        expect([id, Number(status), Number(capabilities)]).to.deep.equal([stranger.address, ProviderStatus.None, 0]);
      });
    });
  });

  describe("the limits of the admin's power", function () {
    it("should expose no function beyond the directory and its roles", async function () {
      const { providers } = await loadFixture(deployRegistries);
      const names: string[] = [];
      providers.interface.forEachFunction((fn) => names.push(fn.name));
      expect(names.sort()).to.deep.equal(
        [
          "DEFAULT_ADMIN_ROLE",
          "REGISTRAR_ROLE",
          "acceptKey",
          "currentKeyOf",
          "getRoleAdmin",
          "grantRole",
          "hasCapability",
          "hasRole",
          "isActive",
          "keysOf",
          "proposedKeyOf",
          "providerOf",
          "register",
          "reinstate",
          "renounceRole",
          "resolve",
          "revokeRole",
          "rotateKey",
          "setCapabilities",
          "supportsInterface",
          "suspend",
        ].sort(),
      );
    });

    it("should not let the admin grant, revoke or deny on a patient's behalf", async function () {
      const { consents, admin, patient, clinic } = await loadFixture(deployWithProviders);
      const expiresAt = (await time.latest()) + DAY;
      await consents.connect(patient).grant(clinic.address, LAB, 1 << Purpose.TREAT, 1 << Action.ACCESS, 0, expiresAt);
      const asAdmin = consents.connect(admin);
      await expect(asAdmin.revokeFor(patient.address, clinic.address, LAB))
        .to.be.revertedWithCustomError(consents, "NotDelegate")
        .withArgs(patient.address, admin.address);
      await expect(
        asAdmin.grantFor(patient.address, admin.address, LAB, 1 << Purpose.TREAT, 1 << Action.ACCESS, 0, expiresAt),
      )
        .to.be.revertedWithCustomError(consents, "NotDelegate")
        .withArgs(patient.address, admin.address);
      await expect(asAdmin.denyFor(patient.address, clinic.address, LAB))
        .to.be.revertedWithCustomError(consents, "NotDelegate")
        .withArgs(patient.address, admin.address);
      // `revoke` acts on the caller's own consents only: the admin has none.
      await expect(asAdmin.revoke(clinic.address, LAB))
        .to.be.revertedWithCustomError(consents, "NothingToRevoke")
        .withArgs(admin.address, clinic.address, LAB);
      expect(await consents.isAuthorized(patient.address, clinic.address, LAB, Purpose.TREAT, Action.ACCESS)).to.be
        .true;
    });

    it("should not let the admin retract or anchor a patient's records", async function () {
      const { records, admin, patient } = await loadFixture(deployWithProviders);
      const contentHash = ethers.id("lab result v1");
      const recordId = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [patient.address, contentHash]),
      );
      await records.connect(patient).anchor(patient.address, LAB, contentHash, ethers.ZeroHash, "");
      await expect(records.connect(admin).retract(recordId, REASON))
        .to.be.revertedWithCustomError(records, "NotAuthorizedRetractor")
        .withArgs(recordId, admin.address);
      await expect(records.connect(admin).anchor(patient.address, LAB, ethers.id("forged"), ethers.ZeroHash, ""))
        .to.be.revertedWithCustomError(records, "NotAuthorizedWriter")
        .withArgs(patient.address, admin.address, LAB);
      expect((await records.recordOf(recordId)).status).to.equal(RecordStatus.Active);
    });
  });
});
