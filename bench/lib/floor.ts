/**
 * The EVM floor of a job: the gas no contract doing that job could go below, under the Osaka gas schedule the
 * in-process Hardhat network runs. It counts only what the job cannot avoid: the transaction, its calldata, the
 * storage it must write, its events and, where named, a precompile or a cold access. Everything else a contract
 * spends (checks, hashing, memory, warm reads, calls between contracts) is its overhead above the floor.
 */
import { getBytes } from "ethers";

/** The gas schedule terms the floor uses (Osaka; EIP-2929 cold access, EIP-3529, EIP-3860, EIP-7623). */
export const GAS = {
  TX: 21_000,
  CREATE: 32_000,
  CALLDATA_ZERO_BYTE: 4,
  CALLDATA_NONZERO_BYTE: 16,
  /** EIP-7623: a transaction pays at least 21,000 + 10 per calldata token (a zero byte 1 token, another byte 4). */
  CALLDATA_FLOOR_PER_TOKEN: 10,
  /** Writing a zero slot non-zero, cold: 20,000 + 2,100 cold access. */
  SSTORE_FRESH: 22_100,
  /** Changing a non-zero slot, cold: 2,900 + 2,100 cold access. */
  SSTORE_UPDATE_COLD: 5_000,
  /** Changing a non-zero slot already accessed in the transaction. */
  SSTORE_UPDATE_WARM: 2_900,
  LOG: 375,
  LOG_TOPIC: 375,
  LOG_DATA_BYTE: 8,
  COLD_ACCOUNT: 2_600,
  COLD_SLOAD: 2_100,
  ECRECOVER: 3_000,
  CODE_DEPOSIT_BYTE: 200,
  INITCODE_WORD: 2,
} as const;

/** A log as a receipt gives it. */
export interface LogLike {
  readonly topics: readonly string[];
  readonly data: string;
}

/** Calldata gas of `data`: 4 per zero byte, 16 per other byte. */
export function calldataGas(data: string): number {
  let gas = 0;
  for (const byte of getBytes(data)) gas += byte === 0 ? GAS.CALLDATA_ZERO_BYTE : GAS.CALLDATA_NONZERO_BYTE;
  return gas;
}

/** EIP-7623 calldata tokens of `data`: 1 per zero byte, 4 per other byte. */
export function calldataTokens(data: string): number {
  let tokens = 0;
  for (const byte of getBytes(data)) tokens += byte === 0 ? 1 : 4;
  return tokens;
}

/** Gas of the logs: 375 each, 375 per topic, 8 per data byte. */
export function logGas(logs: readonly LogLike[]): number {
  return logs.reduce(
    (sum, log) => sum + GAS.LOG + GAS.LOG_TOPIC * log.topics.length + GAS.LOG_DATA_BYTE * getBytes(log.data).length,
    0,
  );
}

/** What one job must do, transaction by transaction. */
export interface FloorSpec {
  /** The calldata of each transaction the job takes (for a deployment, the init code). */
  readonly txData: readonly string[];
  /** Slots the job writes from zero to non-zero. */
  readonly freshSlots?: number;
  /** Non-zero slots the job changes, first touched in the transaction. */
  readonly coldUpdates?: number;
  /** The events it emits, as the receipts show them. */
  readonly logs?: readonly LogLike[];
  /** Other unavoidable costs, each with what it is (an ecrecover, a cold account access...). */
  readonly extras?: readonly { readonly what: string; readonly gas: number }[];
  /** For a deployment: the size of the runtime code deposited. */
  readonly deployedCodeSize?: number;
}

/** The floor of a job and the terms it adds up. */
export interface Floor {
  readonly gas: number;
  readonly terms: string;
}

/**
 * The floor of a job done in transactions: 21,000 and the calldata (4/16 a byte) of each transaction, plus the
 * storage, logs, extras and, for a deployment, CREATE, init-code words and code deposit. Never below the EIP-7623
 * calldata floor (21,000 + 10 per token a transaction), which Osaka charges to calldata-heavy transactions.
 */
export function transactionFloor(spec: FloorSpec): Floor {
  const fresh = spec.freshSlots ?? 0;
  const updates = spec.coldUpdates ?? 0;
  const logs = spec.logs ?? [];
  const isDeployment = spec.deployedCodeSize !== undefined;
  const txs = spec.txData.length;
  const calldata = spec.txData.reduce((sum, data) => sum + calldataGas(data), 0);
  const create = isDeployment
    ? spec.txData.reduce((sum, data) => sum + GAS.CREATE + GAS.INITCODE_WORD * Math.ceil(getBytes(data).length / 32), 0)
    : 0;
  const storage = fresh * GAS.SSTORE_FRESH + updates * GAS.SSTORE_UPDATE_COLD;
  const logCost = logGas(logs);
  const extras = spec.extras ?? [];
  const deposit = (spec.deployedCodeSize ?? 0) * GAS.CODE_DEPOSIT_BYTE;
  const standard =
    txs * GAS.TX + calldata + create + storage + logCost + extras.reduce((sum, e) => sum + e.gas, 0) + deposit;
  const eip7623 = spec.txData.reduce(
    (sum, data) => sum + GAS.TX + GAS.CALLDATA_FLOOR_PER_TOKEN * calldataTokens(data),
    0,
  );

  const terms = [txs === 1 ? `${GAS.TX}` : `${txs}x${GAS.TX}`, `calldata ${calldata}`];
  if (create) terms.push(`create ${create}`);
  if (fresh) terms.push(`${fresh} fresh slot${fresh > 1 ? "s" : ""} x${GAS.SSTORE_FRESH}`);
  if (updates) terms.push(`${updates} slot update${updates > 1 ? "s" : ""} x${GAS.SSTORE_UPDATE_COLD}`);
  if (logs.length) terms.push(`${logs.length} log${logs.length > 1 ? "s" : ""} ${logCost}`);
  for (const extra of extras) terms.push(`${extra.what} ${extra.gas}`);
  if (deposit) terms.push(`code ${spec.deployedCodeSize} B x${GAS.CODE_DEPOSIT_BYTE}`);
  if (eip7623 > standard) return { gas: eip7623, terms: `EIP-7623 calldata floor (${terms.join(" + ")} is less)` };
  return { gas: standard, terms: terms.join(" + ") };
}

/**
 * The floor of a view called from another contract: the cold access to the contract called, and the cold slot
 * reads the answer depends on.
 */
export function viewFloor(coldAccounts: number, coldSloads: number): Floor {
  return {
    gas: coldAccounts * GAS.COLD_ACCOUNT + coldSloads * GAS.COLD_SLOAD,
    terms: `${coldAccounts} cold account x2600 + ${coldSloads} cold SLOAD x2100`,
  };
}
