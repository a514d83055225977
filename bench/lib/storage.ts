/**
 * What a transaction did to storage, read from its trace: which slots it wrote from zero, and which non-zero slots
 * it changed. The benchmark checks the slot counts its floors assume against this.
 */
import { getAddress, toBeHex, zeroPadValue } from "ethers";
import type { EthereumProvider } from "hardhat/types";

/** Distinct slots a transaction changed, by their value before it. */
export interface StorageWrites {
  /** Zero before, non-zero after. */
  readonly fresh: number;
  /** Non-zero before, different after (including cleared). */
  readonly updated: number;
}

interface StructLog {
  readonly op: string;
  readonly depth: number;
  readonly stack?: readonly string[];
}

interface Trace {
  readonly structLogs: readonly StructLog[];
}

function word(value: string): string {
  return zeroPadValue(toBeHex(BigInt(value.startsWith("0x") ? value : `0x${value}`)), 32);
}

/** An address from a stack word. */
function stackAddress(value: string): string {
  return getAddress(`0x${word(value).slice(-40)}`);
}

/**
 * The storage writes of transaction `hash`, which ran against `target` (the contract called, or the contract created).
 * Follows CALL and DELEGATECALL frames, so a multicall's self-delegatecalls count against `target`.
 */
export async function storageWrites(provider: EthereumProvider, hash: string, target: string): Promise<StorageWrites> {
  const trace = (await provider.send("debug_traceTransaction", [
    hash,
    { disableMemory: true, disableStorage: true, disableStack: false },
  ])) as Trace;
  const receipt = (await provider.send("eth_getTransactionReceipt", [hash])) as { blockNumber: string };
  const block = BigInt(receipt.blockNumber);

  const written = new Set<string>();
  const frames: string[] = [getAddress(target)];
  let pendingCall: string | undefined;
  for (const log of trace.structLogs) {
    while (frames.length > log.depth) frames.pop();
    if (pendingCall !== undefined) {
      if (frames.length < log.depth) frames.push(pendingCall);
      pendingCall = undefined;
    }
    const stack = log.stack ?? [];
    const top = (n: number): string => stack[stack.length - 1 - n];
    const self = frames[frames.length - 1];
    if (log.op === "SSTORE") written.add(`${self}:${word(top(0))}`);
    else if (log.op === "CALL" || log.op === "STATICCALL" || log.op === "CALLCODE") pendingCall = stackAddress(top(1));
    else if (log.op === "DELEGATECALL") pendingCall = self;
  }

  let fresh = 0;
  let updated = 0;
  for (const entry of written) {
    const [address, slot] = entry.split(":");
    const before = BigInt((await provider.send("eth_getStorageAt", [address, slot, toBeHex(block - 1n)])) as string);
    const after = BigInt((await provider.send("eth_getStorageAt", [address, slot, toBeHex(block)])) as string);
    if (before === after) continue;
    if (before === 0n) fresh += 1;
    else updated += 1;
  }
  return { fresh, updated };
}
