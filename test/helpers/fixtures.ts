/**
 * Shared deployment fixtures: the three registries wired together, with named accounts. Use with `loadFixture`.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import type { ConsentRegistry, ProviderRegistry, RecordRegistry } from "../../typechain-types";
import { Capability } from "../../src/codes";

export const DAY = 24 * 60 * 60;

/** Deploys ProviderRegistry (admin, registrar), ConsentRegistry and RecordRegistry; nobody is registered yet. */
export async function deployRegistries() {
  const [admin, registrar, patient, clinic, lab, delegate, stranger, relayer, emergencyDoctor, other] =
    await ethers.getSigners();
  const providers = (await ethers.deployContract("ProviderRegistry", [
    admin.address,
    registrar.address,
  ])) as unknown as ProviderRegistry;
  const consents = (await ethers.deployContract("ConsentRegistry", [
    await providers.getAddress(),
  ])) as unknown as ConsentRegistry;
  const records = (await ethers.deployContract("RecordRegistry", [
    await consents.getAddress(),
  ])) as unknown as RecordRegistry;
  return {
    providers,
    consents,
    records,
    admin,
    registrar,
    patient,
    clinic,
    lab,
    delegate,
    stranger,
    relayer,
    emergencyDoctor,
    other,
  };
}

/** {deployRegistries}, with `clinic` registered for treatment and `emergencyDoctor` for treatment and emergencies. */
export async function deployWithProviders() {
  const fixture = await deployRegistries();
  const { providers, registrar, clinic, emergencyDoctor } = fixture;
  await providers.connect(registrar).register(clinic.address, ethers.id("npi:clinic"), Capability.TREATMENT, "");
  await providers
    .connect(registrar)
    .register(emergencyDoctor.address, ethers.id("npi:er"), Capability.TREATMENT | Capability.EMERGENCY, "");
  return fixture;
}

/** The timestamp of the latest block. */
export async function now(): Promise<number> {
  return time.latest();
}

/**
 * Moves a provider from its key `from` to the key `to` in the registry's two steps: `from` proposes, `to` accepts.
 * Returns the acceptance, which emits KeyRotated.
 */
export async function rotateKey(providers: ProviderRegistry, from: Signer, to: Signer) {
  const [id] = await providers.resolve(await from.getAddress());
  await providers.connect(from).rotateKey(await to.getAddress());
  return providers.connect(to).acceptKey(id);
}

/**
 * {deployWithProviders}, with `delegate` appointed by `patient` for a year, and two fresh accounts (`newKey`,
 * `newerKey`) for providers to rotate their keys to.
 */
export async function deployWithDelegateAndKeys() {
  const fixture = await deployWithProviders();
  const signers = await ethers.getSigners();
  const { consents, patient, delegate } = fixture;
  await consents.connect(patient).setDelegate(delegate.address, (await time.latest()) + 365 * DAY);
  return { ...fixture, newKey: signers[10], newerKey: signers[11] };
}
