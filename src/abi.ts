/**
 * The registries' ABIs, typed `as const`, so that a dApp reads and writes the contracts with ethers, viem or any
 * ABI-typed library without Hardhat: `new Contract(address, consentRegistryAbi, runner)`. The same ABIs ship as
 * plain JSON in the package (`consent-anchor/abi/ConsentRegistry.json`).
 */
import {
  ConsentRegistry__factory,
  ProviderRegistry__factory,
  RecordRegistry__factory,
  type ConsentRegistry,
  type ProviderRegistry,
  type RecordRegistry,
} from "../typechain-types";

/** The ABI of ConsentRegistry: consents, delegates, signed consents, break-glass access, the access trail. */
export const consentRegistryAbi = ConsentRegistry__factory.abi;
/** The ABI of ProviderRegistry: the directory of licensed providers and their keys. */
export const providerRegistryAbi = ProviderRegistry__factory.abi;
/** The ABI of RecordRegistry: record fingerprints, versions, retractions and Merkle batches. */
export const recordRegistryAbi = RecordRegistry__factory.abi;

/** Typed ethers v6 contracts and their factories (`ConsentRegistry__factory.connect(address, runner)`). */
export { ConsentRegistry__factory, ProviderRegistry__factory, RecordRegistry__factory };
export type { ConsentRegistry, ProviderRegistry, RecordRegistry };
