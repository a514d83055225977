/**
 * Deploying a contract and keeping what its deployment gas depends on: the receipt, the init code sent and the size
 * of the runtime code left on chain.
 */
import type { BaseContract, ContractFactory, ContractTransactionReceipt } from "ethers";

/** A deployed contract and its deployment. */
export interface Deployed<T> {
  readonly contract: T;
  readonly receipt: ContractTransactionReceipt;
  /** The deployment transaction's data: init code and constructor arguments. */
  readonly initCode: string;
  /** Bytes of runtime code deposited. */
  readonly codeSize: number;
}

/** Deploys with `factory` and waits for the receipt. */
export async function deploy<T extends BaseContract>(factory: ContractFactory, args: unknown[]): Promise<Deployed<T>> {
  const contract = await factory.deploy(...args);
  const tx = contract.deploymentTransaction();
  if (tx === null) throw new Error("The contract has no deployment transaction");
  const receipt = await tx.wait();
  if (receipt === null) throw new Error("The deployment was not mined");
  const runner = factory.runner;
  const provider = runner?.provider;
  if (!provider) throw new Error("The factory has no provider");
  const code = await provider.getCode(await contract.getAddress());
  return { contract: contract as unknown as T, receipt, initCode: tx.data, codeSize: (code.length - 2) / 2 };
}
