/**
 * The harness of the model-based property tests: a small universe of accounts on the in-process Hardhat network,
 * the operations fast-check generates over it, how each operation runs against the reference model (model.ts) and
 * against the real contracts, and the comparison of everything observable after every step (one `eth_call` to the
 * ConsentGridProbe test contract).
 *
 * Besides agreeing with the model, every step checks model-independent invariants between the observation before
 * and the observation after (see {@link checkInvariants}).
 */
import fc from "fast-check";
import { network } from "hardhat";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { Interface, Wallet, id, type TypedDataDomain } from "ethers";

import {
  ConsentGridProbe__factory,
  ConsentRegistry__factory,
  ProviderRegistry__factory,
  RecordRegistry__factory,
  type ConsentGridProbe,
} from "../../typechain-types";
import { Capability, ConsentStatus, ProviderStatus, RecordStatus } from "../../src/codes";
import { consentDomain, GRANT_TYPES, REVOKE_TYPES } from "../../src/eip712";
import { anvilBinary, anvilDevKey, startAnvil } from "../helpers/anvil";
import {
  ACTION_COUNT,
  ANY_CATEGORY,
  batchIdOf,
  ConsentModel,
  PURPOSE_COUNT,
  recordIdOf,
  ZERO_ADDRESS,
  ZERO_BYTES32,
  type Address,
  type Bytes32,
  type GrantArgs,
  type Outcome,
  type SignatureFacts,
} from "./model";

// ---------------------------------------------------------------------------------------------------------------
// The chain: raw JSON-RPC, to Anvil (fast) or to Hardhat's in-process network
// ---------------------------------------------------------------------------------------------------------------

/** An error of a JSON-RPC call, keeping the revert data when there is some. */
export class RpcError extends Error {
  constructor(
    message: string,
    readonly data?: string,
  ) {
    super(message);
  }
}

/** A JSON-RPC endpoint the harness drives directly (no ethers provider: no batching delay, no polling). */
export interface Chain {
  name: string;
  /** Whether a full observation takes milliseconds (Anvil) rather than a second (Hardhat's in-process EDR). */
  fast: boolean;
  send<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Starts the chain the model runs use: Anvil on a free loopback port (default: it executes the 7M-gas observation
 * of every step in ~10 ms, Hardhat's in-process EDR in 0.3-1.5 s), or Hardhat's in-process network
 * (FUZZ_NODE=hardhat). Both have the same 20 dev accounts (the same mnemonic), so the universe is the same.
 */
export async function startChain(kind: string = process.env.FUZZ_NODE ?? "anvil"): Promise<Chain> {
  let anvilMissing: string | undefined;
  if (kind !== "hardhat") {
    try {
      anvilBinary();
    } catch (error) {
      anvilMissing = error instanceof Error ? error.message : String(error);
    }
  }
  if (kind === "hardhat" || anvilMissing) {
    if (anvilMissing)
      console.warn(`      Anvil unavailable (${anvilMissing}): model runs fall back to Hardhat's in-process network`);
    return {
      name: "hardhat (in-process)",
      fast: false,
      send: async <T>(method: string, params: unknown[] = []) => (await network.provider.send(method, params)) as T,
      stop: async () => undefined,
    };
  }
  const node = await startAnvil({ args: ["--accounts", "20"] });
  let nextId = 1;
  return {
    name: `anvil (${node.url})`,
    fast: true,
    send: async <T>(method: string, params: unknown[] = []) => {
      const response = await fetch(node.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
      });
      const body = (await response.json()) as { result?: T; error?: { message: string; data?: unknown } };
      if (body.error) {
        throw new RpcError(
          `${method}: ${body.error.message}`,
          typeof body.error.data === "string" ? body.error.data : undefined,
        );
      }
      return body.result as T;
    },
    stop: () => node.stop(),
  };
}

const hex = (n: bigint | number) => `0x${BigInt(n).toString(16)}`;
const TX_GAS = hex(3_000_000);
const CALL_GAS = hex(60_000_000);

interface Receipt {
  status: string;
  contractAddress: string | null;
  blockNumber: string;
}

/**
 * Sends a transaction from an unlocked dev account with a fixed gas limit, so that it is mined even when it reverts
 * (no estimate first). Returns the revert data of a reverted one.
 */
export async function transact(
  chain: Chain,
  from: Address,
  to: Address | null,
  data: string,
  gas = TX_GAS,
): Promise<{ ok: true; receipt: Receipt } | { ok: false; data?: string; message: string }> {
  let hash: string;
  try {
    hash = await chain.send<string>("eth_sendTransaction", [{ from, ...(to ? { to } : {}), data, gas }]);
  } catch (error) {
    // Hardhat's in-process network mines the reverted transaction and throws with its revert data.
    return { ok: false, data: findRevertData(error), message: error instanceof Error ? error.message : String(error) };
  }
  // Anvil answers eth_sendTransaction before the automined block is stored: wait for the receipt.
  let receipt: Receipt | null = null;
  for (let attempt = 0; receipt === null; attempt++) {
    receipt = await chain.send<Receipt | null>("eth_getTransactionReceipt", [hash]);
    if (receipt === null) {
      if (attempt > 2_000) throw new Error(`no receipt for ${hash}`);
      await new Promise((resolve) => setTimeout(resolve, attempt < 20 ? 1 : 10));
    }
  }
  if (receipt.status === "0x1") return { ok: true, receipt };
  const trace = await chain.send<{ output?: string; error?: string }>("debug_traceTransaction", [
    hash,
    { tracer: "callTracer" },
  ]);
  return { ok: false, data: trace.output, message: trace.error ?? "reverted" };
}

async function deploy(chain: Chain, from: Address, data: string): Promise<Address> {
  const sent = await transact(chain, from, null, data, hex(15_000_000));
  if (!sent.ok || !sent.receipt.contractAddress)
    throw new Error(`deployment failed: ${sent.ok ? "no address" : sent.message}`);
  return sent.receipt.contractAddress.toLowerCase();
}

async function send(chain: Chain, from: Address, to: Address, data: string): Promise<void> {
  const sent = await transact(chain, from, to, data);
  if (!sent.ok) throw new Error(`setup transaction failed: ${sent.message}`);
}

export async function latestTimestamp(chain: Chain): Promise<bigint> {
  const block = await chain.send<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
  return BigInt(block.timestamp);
}

// ---------------------------------------------------------------------------------------------------------------
// The universe
// ---------------------------------------------------------------------------------------------------------------

/** Patients, delegates, grantees (G0 a treatment provider, G1 treatment + emergency, G2 unregistered), a stranger, the registrar and the provider registry's admin. */
export const ACTORS = ["P0", "P1", "D0", "D1", "G0", "G1", "G2", "K", "S", "R", "A"] as const;
export type ActorName = (typeof ACTORS)[number];
export const PATIENTS = ["P0", "P1"] as const;
export type PatientName = (typeof PATIENTS)[number];
export const GRANTEES = ["G0", "G1", "G2", "K"] as const;
export type GranteeName = (typeof GRANTEES)[number];
/** A grantee as an operation names it: one of the universe's, or an invalid one. */
export type GranteeRef = GranteeName | "self" | "zero";
/** The accounts that may appoint delegates in the operations (patients, and a delegate or stranger trying to). */
export const OWNERS = ["P0", "P1", "D0", "S"] as const;
export const CATEGORIES = ["lab", "img", "any"] as const;
export type CategoryName = (typeof CATEGORIES)[number];
export type CategoryRef = CategoryName | "zero";
/** Record contents: content i has hash keccak256("content-i"). */
export const CONTENTS = 6;

export const CATEGORY_IDS: Record<CategoryRef, Bytes32> = {
  lab: id("laboratory"),
  img: id("imaging"),
  any: ANY_CATEGORY,
  zero: ZERO_BYTES32,
};

export function contentHash(index: number): Bytes32 {
  return id(`content-${index}`);
}

/** The items a Merkle batch may hold: (patient, lab or imaging, batch content 0 or 1). */
export const BATCH_ITEMS: { patient: PatientName; category: "lab" | "img"; content: number }[] = PATIENTS.flatMap(
  (patient) =>
    (["lab", "img"] as const).flatMap((category) => [0, 1].map((content) => ({ patient, category, content }))),
);
/** Root 0 is the tree of every item, root 1 the tree of the even-numbered items. */
export const BATCH_ROOT_ITEMS: number[][] = [
  BATCH_ITEMS.map((_, i) => i),
  BATCH_ITEMS.map((_, i) => i).filter((i) => i % 2 === 0),
];
/** The accounts that may become providers: the observed batch ids are every one of them x every root. */
export const BATCH_SUBMITTERS = ["G0", "G1", "G2", "K"] as const;
export type BatchSubmitter = (typeof BATCH_SUBMITTERS)[number];

export function batchContentHash(index: number): Bytes32 {
  return id(`batch-content-${index}`);
}

/** The dev-account index of each actor (the same on Anvil and Hardhat: one mnemonic). */
const ACCOUNT_INDEX: Record<ActorName, number> = {
  A: 0,
  R: 1,
  P0: 2,
  G0: 3,
  G2: 4,
  D0: 5,
  S: 6,
  G1: 8,
  P1: 10,
  D1: 11,
  K: 13,
};

export const consentInterface = ConsentRegistry__factory.createInterface();
export const providerInterface = ProviderRegistry__factory.createInterface();
export const recordInterface = RecordRegistry__factory.createInterface();
export const probeInterface = ConsentGridProbe__factory.createInterface();

export interface World {
  chain: Chain;
  consents: Address;
  providers: Address;
  records: Address;
  probe: Address;
  /** Keys of the actors, for EIP-712 signatures (transactions go through the node's unlocked accounts). */
  wallets: Record<ActorName, Wallet>;
  address: Record<ActorName, Address>;
  domain: TypedDataDomain;
  chainId: bigint;
  /** The arrays the probe observes. */
  universe: ConsentGridProbe.UniverseStruct;
  recordKeys: { patient: PatientName; content: number }[];
  /** The Merkle roots of {BATCH_ROOT_ITEMS}. */
  batchRoots: Bytes32[];
  /** The batch ids the probe observes, index b = submitter * roots + root. */
  batchKeys: { submitter: BatchSubmitter; root: number; id: bigint }[];
  snapshotId: string;
  errors: Interface;
  /** The model of the state every run starts from (after {BASELINE}). */
  baseline?: ConsentModel;
  /** The calldata of the probe's `observe` (encoded once). */
  observeCall?: string;
}

/** Deploys the registries on `chain`, registers G0 (treatment) and G1 (treatment + emergency), deploys the probe, snapshots. */
export async function deployWorld(chain: Chain): Promise<World> {
  const wallets = Object.fromEntries(ACTORS.map((n) => [n, new Wallet(anvilDevKey(ACCOUNT_INDEX[n]))])) as Record<
    ActorName,
    Wallet
  >;
  const address = Object.fromEntries(ACTORS.map((n) => [n, wallets[n].address.toLowerCase()])) as Record<
    ActorName,
    Address
  >;
  const accounts = (await chain.send<string[]>("eth_accounts")).map((a) => a.toLowerCase());
  for (const n of ACTORS) {
    if (accounts[ACCOUNT_INDEX[n]] !== address[n])
      throw new Error(`${chain.name}: dev account ${ACCOUNT_INDEX[n]} is not ${n}'s key`);
  }
  const providers = await deploy(
    chain,
    address.A,
    (await new ProviderRegistry__factory().getDeployTransaction(address.A, address.R)).data,
  );
  const consents = await deploy(
    chain,
    address.A,
    (await new ConsentRegistry__factory().getDeployTransaction(providers)).data,
  );
  const records = await deploy(
    chain,
    address.A,
    (await new RecordRegistry__factory().getDeployTransaction(consents)).data,
  );
  const probe = await deploy(chain, address.A, (await new ConsentGridProbe__factory().getDeployTransaction()).data);
  await send(
    chain,
    address.R,
    providers,
    providerInterface.encodeFunctionData("register", [address.G0, id("npi:g0"), Capability.TREATMENT, ""]),
  );
  await send(
    chain,
    address.R,
    providers,
    providerInterface.encodeFunctionData("register", [
      address.G1,
      id("npi:g1"),
      Capability.TREATMENT | Capability.EMERGENCY,
      "",
    ]),
  );

  const recordKeys: World["recordKeys"] = [];
  for (const patient of PATIENTS)
    for (let content = 0; content < CONTENTS; content++) recordKeys.push({ patient, content });
  const chainId = BigInt(await chain.send<string>("eth_chainId"));
  const leaves = (items: number[]) =>
    items.map((i) => {
      const item = BATCH_ITEMS[i];
      return [address[item.patient], CATEGORY_IDS[item.category], batchContentHash(item.content)];
    });
  const trees = BATCH_ROOT_ITEMS.map((items) =>
    StandardMerkleTree.of(leaves(items), ["address", "bytes32", "bytes32"]),
  );
  const batchRoots = trees.map((t) => t.root.toLowerCase());
  const batchKeys = BATCH_SUBMITTERS.flatMap((submitter) =>
    batchRoots.map((root, r) => ({ submitter, root: r, id: batchIdOf(address[submitter], root) })),
  );
  const batchProofs = batchKeys.flatMap(({ root }) =>
    BATCH_ITEMS.map((_, i) => {
      const position = BATCH_ROOT_ITEMS[root].indexOf(i);
      return position < 0 ? [] : trees[root].getProof(leaves([i])[0]);
    }),
  );
  const errors = new Interface([
    ...consentInterface.fragments.filter((f) => f.type === "error"),
    ...providerInterface.fragments.filter((f) => f.type === "error"),
    ...recordInterface.fragments.filter((f) => f.type === "error"),
  ]);
  return {
    chain,
    consents,
    providers,
    records,
    probe,
    wallets,
    address,
    domain: consentDomain(chainId, consents),
    chainId,
    universe: {
      patients: PATIENTS.map((p) => address[p]),
      grantees: GRANTEES.map((g) => address[g]),
      categories: CATEGORIES.map((c) => CATEGORY_IDS[c]),
      owners: OWNERS.map((a) => address[a]),
      candidates: ACTORS.map((a) => address[a]),
      recordIds: recordKeys.map((k) => recordIdOf(address[k.patient], contentHash(k.content))),
      batchIds: batchKeys.map((b) => b.id),
      batchItems: BATCH_ITEMS.map((item) => ({
        patient: address[item.patient],
        category: CATEGORY_IDS[item.category],
        contentHash: batchContentHash(item.content),
      })),
      batchProofs,
    },
    recordKeys,
    batchRoots,
    batchKeys,
    snapshotId: await chain.send<string>("evm_snapshot"),
    errors,
  };
}

/** Goes back to the state right after deployment (and keeps a snapshot of it for the next time). */
export async function restoreWorld(world: World): Promise<void> {
  const reverted = await world.chain.send<boolean>("evm_revert", [world.snapshotId]);
  if (!reverted) throw new Error("evm_revert failed");
  world.snapshotId = await world.chain.send<string>("evm_snapshot");
}

// ---------------------------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------------------------

/** A grant as generated: times relative to the block the operation executes in. */
export interface GrantSpec {
  grantee: GranteeRef;
  category: CategoryRef;
  purposes: number;
  actions: number;
  /** null: notBefore = 0 ("now"); else block time + offset. */
  notBefore: number | null;
  /** expiresAt = block time + expiresIn (may be in the past). */
  expiresIn: number;
}

export type SignatureDomain = "ok" | "otherChain" | "otherContract";
/** How the signed nonce differs from the key's next one: by the sequence (-1, +1), or made in the last signature epoch. */
export type NonceSkew = number | "staleEpoch";

export type Op =
  | {
      kind: "grant";
      by: ActorName;
      patient: PatientName;
      delegated: boolean;
      spec: GrantSpec;
      appointed?: number;
      selfDeal?: number;
    }
  | {
      kind: "revoke" | "deny";
      by: ActorName;
      patient: PatientName;
      delegated: boolean;
      grantee: GranteeRef;
      category: CategoryRef;
      pick?: number;
      appointed?: number;
      /**
       * When set: a delegate that is a provider key deals with its own provider (under any of its keys), or turns
       * break-glass access on (emergencySet): refused with DelegateIsGrantee.
       */
      selfDeal?: number;
    }
  | {
      kind: "revokeAll" | "cancelSignatures";
      by: ActorName;
      patient: PatientName;
      delegated: boolean;
      appointed?: number;
    }
  | { kind: "setDelegate"; by: ActorName; delegate: ActorName | "self" | "zero"; expiresIn: number }
  | { kind: "removeDelegate"; by: ActorName; delegate: ActorName; appointed?: number }
  | {
      kind: "signedGrant";
      relayer: ActorName;
      patient: PatientName;
      signer: ActorName;
      nonceSkew: NonceSkew;
      deadlineIn: number;
      domain: SignatureDomain;
      tampered: boolean;
      spec: GrantSpec;
      /** Names one of the keys the model holds for the patient (a deny, often). */
      pick?: number;
      /** Sign now, keep it unsubmitted (a relayer submits it later with `submitHeld`). */
      hold?: boolean;
    }
  | {
      kind: "signedRevoke";
      relayer: ActorName;
      patient: PatientName;
      signer: ActorName;
      nonceSkew: NonceSkew;
      deadlineIn: number;
      domain: SignatureDomain;
      grantee: GranteeRef;
      category: CategoryRef;
      pick?: number;
      hold?: boolean;
    }
  | { kind: "replay"; relayer: ActorName; index: number }
  | { kind: "submitHeld"; relayer: ActorName; index: number }
  | { kind: "suspend" | "reinstate"; by: ActorName; provider: GranteeName; pick?: number }
  | { kind: "setCapabilities"; by: ActorName; provider: GranteeName; capabilities: number }
  | { kind: "rotateKey"; by: ActorName; to: ActorName | "zero" }
  | {
      kind: "acceptKey";
      by: ActorName;
      id: GranteeName;
      /** When set: the key a provider of the universe proposed accepts (when there is a proposal). */
      pick?: number;
    }
  | { kind: "emergencyOpen"; by: ActorName; patient: PatientName }
  | {
      kind: "emergencyClose";
      by: ActorName;
      patient: PatientName;
      delegated: boolean;
      provider: GranteeName;
      appointed?: number;
      pick?: number;
    }
  | {
      kind: "emergencySet";
      by: ActorName;
      patient: PatientName;
      delegated: boolean;
      allowed: boolean;
      appointed?: number;
      selfDeal?: number;
    }
  | {
      kind: "recordAccess";
      by: ActorName;
      patient: PatientName;
      category: CategoryRef;
      purpose: number;
      action: number;
      pick?: number;
    }
  | {
      kind: "anchor";
      /** "patient": the patient themself. */
      by: ActorName | "patient";
      patient: PatientName;
      category: CategoryRef;
      content: number;
      supersedes: { patient: PatientName; content: number } | null;
      /** When set: supersede the record #n (mod the count) the model holds for the patient, if any. */
      supersedesPick?: number;
      uriLength: number;
    }
  | { kind: "retract"; by: ActorName | "patient"; patient: PatientName; content: number; pick?: number }
  | { kind: "anchorBatch"; by: ActorName; root: number | "zero"; count: number; uriLength: number }
  | {
      kind: "retractBatchItem";
      /** "patient": the patient the item names. */
      by: ActorName | "patient";
      /** Index into world.batchKeys (an observed batch id). */
      batch: number;
      /** Index into BATCH_ITEMS. */
      item: number;
      /** When set: one of the batches the model holds. */
      pick?: number;
    }
  | { kind: "wait"; seconds: number }
  | { kind: "waitBoundary"; index: number; delta: number };

/** A signature the registry accepted, kept to replay it later (or one made and held for a later submission). */
export interface AcceptedSignature {
  op: Extract<Op, { kind: "signedGrant" | "signedRevoke" }>;
  args: GrantArgs | { grantee: Address; category: Bytes32 };
  deadline: bigint;
  nonce: bigint;
  signature: string;
  /** Whether the signature covers exactly `args` (false: tampered by the relayer). */
  matches: boolean;
}

/** What the fast-check commands see as "the model": the reference model plus the harness' own bookkeeping. */
export interface ModelState {
  model: ConsentModel;
  accepted: AcceptedSignature[];
  /** Signatures made and not submitted yet (`hold`), in signing order. */
  held: AcceptedSignature[];
}

/** Counters over a whole test file (printed at the end). */
export const stats = {
  runs: 0,
  commands: 0,
  transactions: 0,
  reverts: 0,
  observations: 0,
  /** Per operation kind: how many succeeded and how many reverted (as the model said). */
  byKind: {} as Record<string, { ok: number; reverted: number }>,
  /** Per custom error: how many expected reverts named it. */
  byError: {} as Record<string, number>,
};

function count(kind: string, ok: boolean): void {
  const entry = (stats.byKind[kind] ??= { ok: 0, reverted: 0 });
  if (ok) entry.ok++;
  else entry.reverted++;
}

/** "DenyInForce 12, InvalidSignature 40, ..." */
export function describeErrors(): string {
  return Object.entries(stats.byError)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([error, n]) => `${error} ${n}`)
    .join(", ");
}

/** "grant 120/45, revoke 30/60, ..." (succeeded/reverted). */
export function describeStats(): string {
  return Object.entries(stats.byKind)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([kind, { ok, reverted }]) => `${kind} ${ok}/${reverted}`)
    .join(", ");
}

/** The real side of a run. */
export interface RealState {
  world: World;
  last: Observation;
}

function granteeAddress(world: World, patient: PatientName, ref: GranteeRef): Address {
  if (ref === "self") return world.address[patient];
  if (ref === "zero") return ZERO_ADDRESS;
  return world.address[ref];
}

function grantArgs(world: World, patient: PatientName, spec: GrantSpec, at: bigint): GrantArgs {
  return {
    grantee: granteeAddress(world, patient, spec.grantee),
    category: CATEGORY_IDS[spec.category],
    purposes: spec.purposes,
    actions: spec.actions,
    notBefore: spec.notBefore === null ? 0n : at + BigInt(spec.notBefore),
    expiresAt: clampTime(at + BigInt(spec.expiresIn)),
  };
}

function clampTime(t: bigint): bigint {
  return t < 0n ? 0n : t;
}

function domainFor(world: World, kind: SignatureDomain): TypedDataDomain {
  if (kind === "otherChain") return { ...world.domain, chainId: world.chainId + 1n };
  if (kind === "otherContract") return { ...world.domain, verifyingContract: world.records };
  return world.domain;
}

/** A readable one-liner of an operation (fast-check prints commands with it). */
export function describeOp(op: Op): string {
  const { kind, ...rest } = op;
  return `${kind}(${JSON.stringify(rest)})`;
}

/** The revert data of a real transaction, decoded into the custom error's name and normalised arguments. */
export function decodeRevert(
  world: World,
  data: string | undefined,
  message: string,
): { error: string; args: string[] } {
  if (data && data !== "0x") {
    try {
      const parsed = world.errors.parseError(data);
      if (parsed) return { error: parsed.name, args: parsed.args.map((a: unknown) => normalise(a)) };
    } catch {
      // fall through
    }
    return { error: `undecoded(${data})`, args: [] };
  }
  return { error: `no revert data: ${message.slice(0, 200)}`, args: [] };
}

function findRevertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length) {
    const e = queue.shift();
    if (!e || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const record = e as Record<string, unknown>;
    if (typeof record.data === "string" && record.data.startsWith("0x")) return record.data;
    for (const k of ["error", "info", "cause", "data"]) if (record[k]) queue.push(record[k]);
  }
  return undefined;
}

export function normalise(value: unknown): string {
  if (typeof value === "string") return value.toLowerCase();
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function sameOutcome(expected: Outcome, actual: { ok: true } | { ok: false; error: string; args: string[] }): boolean {
  if (expected.ok !== actual.ok) return false;
  if (expected.ok || actual.ok) return true;
  return (
    expected.error === actual.error && JSON.stringify(expected.args.map(normalise)) === JSON.stringify(actual.args)
  );
}

/**
 * Who may legitimately change `patient`'s consents, epochs, signature nonces and batch-item retractions in this
 * operation (before checking the contract said yes): the patient, a delegate whose term runs, the patient's own
 * signature.
 */
function actsFor(op: Op, world: World, before: Observation, at: bigint, prepared: Prepared): Set<Address> {
  const acting = new Set<Address>();
  const own = (a: ActorName) => acting.add(world.address[a]);
  switch (op.kind) {
    case "grant":
    case "revoke":
    case "deny":
    case "revokeAll":
    case "cancelSignatures":
    case "emergencyClose":
    case "emergencySet":
      if (!op.delegated) own(op.by);
      else if (before.delegateExpiry(world.address[op.patient], world.address[op.by]) > at) own(op.patient);
      break;
    case "setDelegate":
    case "removeDelegate":
      own(op.by);
      break;
    case "signedGrant":
    case "signedRevoke":
    case "submitHeld":
      if (prepared.signed?.facts.signer === prepared.signed?.patient) acting.add(prepared.signed?.patient ?? "");
      break;
    case "retractBatchItem": {
      const patient = world.address[BATCH_ITEMS[op.item].patient];
      const by = world.address[op.by === "patient" ? BATCH_ITEMS[op.item].patient : op.by];
      if (by === patient || before.delegateExpiry(patient, by) > at) acting.add(patient);
      break;
    }
    default:
      break;
  }
  return acting;
}

/** Applies `op` to the model at block time `at`; returns the outcome the specification prescribes. */
function applyToModel(state: ModelState, world: World, op: Op, at: bigint, prepared: Prepared): Outcome {
  const m = state.model;
  const a = (n: ActorName) => world.address[n];
  switch (op.kind) {
    case "grant":
      return op.delegated
        ? m.grantFor(a(op.by), a(op.patient), grantArgs(world, op.patient, op.spec, at), at)
        : m.grant(a(op.by), grantArgs(world, op.by as PatientName, op.spec, at), at);
    case "revoke": {
      const patient = op.delegated ? op.patient : (op.by as PatientName);
      const grantee = granteeAddress(world, patient, op.grantee);
      return op.delegated
        ? m.revokeFor(a(op.by), a(op.patient), grantee, CATEGORY_IDS[op.category], at)
        : m.revoke(a(op.by), grantee, CATEGORY_IDS[op.category]);
    }
    case "deny": {
      const patient = op.delegated ? op.patient : (op.by as PatientName);
      const grantee = granteeAddress(world, patient, op.grantee);
      return op.delegated
        ? m.denyFor(a(op.by), a(op.patient), grantee, CATEGORY_IDS[op.category], at)
        : m.deny(a(op.by), grantee, CATEGORY_IDS[op.category], at);
    }
    case "revokeAll":
      return op.delegated ? m.revokeAllFor(a(op.by), a(op.patient), at) : m.revokeAll(a(op.by));
    case "cancelSignatures":
      return op.delegated ? m.cancelSignaturesFor(a(op.by), a(op.patient), at) : m.cancelSignatures(a(op.by));
    case "setDelegate": {
      const delegate = op.delegate === "self" ? a(op.by) : op.delegate === "zero" ? ZERO_ADDRESS : a(op.delegate);
      return m.setDelegate(a(op.by), delegate, clampTime(at + BigInt(op.expiresIn)), at);
    }
    case "removeDelegate":
      return m.removeDelegate(a(op.by), a(op.delegate));
    case "signedGrant":
    case "signedRevoke":
    case "replay":
    case "submitHeld": {
      const s = prepared.signed;
      if (!s) throw new Error("signed operation without a prepared signature");
      return "expiresAt" in s.args
        ? m.grantWithSig(s.patient, s.args, s.deadline, s.facts, at)
        : m.revokeWithSig(s.patient, s.args.grantee, s.args.category, s.deadline, s.facts, at);
    }
    case "suspend":
      return m.suspend(a(op.by), a(op.provider));
    case "reinstate":
      return m.reinstate(a(op.by), a(op.provider));
    case "setCapabilities":
      return m.setCapabilities(a(op.by), a(op.provider), op.capabilities);
    case "rotateKey":
      return m.rotateKey(a(op.by), op.to === "zero" ? ZERO_ADDRESS : a(op.to));
    case "acceptKey":
      return m.acceptKey(a(op.by), a(op.id));
    case "emergencyOpen":
      return m.emergencyAccess(a(op.by), a(op.patient), at);
    case "emergencyClose":
      return op.delegated
        ? m.closeEmergencyAccessFor(a(op.by), a(op.patient), a(op.provider), at)
        : m.closeEmergencyAccess(a(op.by), a(op.provider), at);
    case "emergencySet":
      return op.delegated
        ? m.setEmergencyAccessFor(a(op.by), a(op.patient), op.allowed, at)
        : m.setEmergencyAccess(a(op.by), op.allowed);
    case "recordAccess":
      return m.recordAccess(a(op.by), a(op.patient), CATEGORY_IDS[op.category], op.purpose, op.action, at);
    case "anchor": {
      const supersedes = op.supersedes
        ? recordIdOf(a(op.supersedes.patient), contentHash(op.supersedes.content))
        : ZERO_BYTES32;
      return m.anchor(
        a(op.by === "patient" ? op.patient : op.by),
        a(op.patient),
        CATEGORY_IDS[op.category],
        contentHash(op.content),
        supersedes,
        op.uriLength,
        at,
      );
    }
    case "retract":
      return m.retract(
        a(op.by === "patient" ? op.patient : op.by),
        recordIdOf(a(op.patient), contentHash(op.content)),
        at,
      );
    case "anchorBatch":
      return m.anchorBatch(
        a(op.by),
        op.root === "zero" ? ZERO_BYTES32 : world.batchRoots[op.root],
        op.count,
        op.uriLength,
        at,
      );
    case "retractBatchItem": {
      const item = BATCH_ITEMS[op.item];
      return m.retractBatchItem(
        a(op.by === "patient" ? item.patient : op.by),
        world.batchKeys[op.batch].id,
        a(item.patient),
        CATEGORY_IDS[item.category],
        batchContentHash(item.content),
        at,
      );
    }
    case "wait":
    case "waitBoundary":
      return { ok: true };
  }
}

const GRANTEE_SET = new Set<string>(GRANTEES);

/**
 * Makes an operation concrete against the model's current state: `pick` chooses one of the consents (or records)
 * the model holds, so that revocations, denies, access records and retractions often hit something that exists;
 * "patient" as a sender becomes the patient concerned. Deterministic, so replays are exact.
 */
export function resolveOp(state: ModelState, world: World, generated: Op): Op {
  let op = generated;
  const nameOf = (address: Address): string | undefined => ACTORS.find((n) => world.address[n] === address);
  const categoryOf = (id: Bytes32): CategoryName | undefined => CATEGORIES.find((c) => CATEGORY_IDS[c] === id);
  const pickKey = (patient: PatientName, pick: number, permitsOnly: boolean) => {
    const keys = state.model
      .storedKeys(world.address[patient])
      .map((k) => ({ grantee: nameOf(k.key), category: categoryOf(k.category), consent: k.consent }))
      .filter((k) => k.grantee !== undefined && GRANTEE_SET.has(k.grantee) && k.category !== undefined)
      .filter((k) => !permitsOnly || k.consent.decision === 1);
    return keys.length > 0 ? keys[pick % keys.length] : undefined;
  };
  const appointed = <T extends Op & { by: ActorName; patient: PatientName; delegated: boolean; appointed?: number }>(
    o: T,
  ): T => {
    if (o.appointed === undefined) return o;
    const { appointed: index, ...rest } = o;
    const delegates = state.model
      .delegatesOf(world.address[o.patient])
      .map(nameOf)
      .filter((n): n is ActorName => n !== undefined);
    return (o.delegated && delegates.length > 0 ? { ...rest, by: delegates[index % delegates.length] } : rest) as T;
  };
  if (
    op.kind === "grant" ||
    op.kind === "revoke" ||
    op.kind === "deny" ||
    op.kind === "revokeAll" ||
    op.kind === "cancelSignatures" ||
    op.kind === "emergencyClose" ||
    op.kind === "emergencySet"
  ) {
    op = appointed(op);
  }
  op = selfDealing(state, world, op);
  // Name a stored key through the provider's current key (every other pick) when the provider has rotated to it.
  const named = (key: { grantee?: string }, index: number): GranteeName => {
    const current = GRANTEES.find(
      (h) =>
        h !== key.grantee &&
        state.model.resolve(world.address[h]).id === world.address[key.grantee as GranteeName] &&
        state.model.resolve(world.address[h]).status === ProviderStatus.Active,
    );
    return current && index % 2 === 1 ? current : (key.grantee as GranteeName);
  };
  switch (op.kind) {
    case "reinstate":
    case "suspend": {
      if (op.pick === undefined) return op;
      const { pick: index, ...rest } = op;
      const wanted = op.kind === "reinstate" ? ProviderStatus.Suspended : ProviderStatus.Active;
      const candidates = GRANTEES.filter((g) => state.model.resolve(world.address[g]).status === wanted);
      return candidates.length > 0 ? { ...rest, provider: candidates[index % candidates.length] } : rest;
    }
    case "emergencyClose": {
      if (op.pick === undefined) return op;
      const { pick: index, ...rest } = op;
      const open = GRANTEES.filter(
        (g) => state.model.emergencyAccessExpiry(world.address[op.patient], world.address[g]) > state.model.now,
      );
      return open.length > 0 ? { ...rest, provider: open[index % open.length] } : rest;
    }
    case "removeDelegate": {
      if (op.appointed === undefined) return op;
      const { appointed: index, ...rest } = op;
      const delegates = state.model
        .delegatesOf(world.address[op.by])
        .map(nameOf)
        .filter((n): n is ActorName => n !== undefined);
      return delegates.length > 0 ? { ...rest, delegate: delegates[index % delegates.length] } : rest;
    }
    case "revoke":
    case "deny":
    case "signedRevoke": {
      if (op.pick === undefined) return op;
      const patient = op.kind === "signedRevoke" || op.delegated ? op.patient : (op.by as PatientName);
      const key = pickKey(patient, op.pick, false);
      const rest = { ...op };
      delete rest.pick;
      if (!key) return rest;
      return { ...rest, grantee: named(key, op.pick), category: key.category as CategoryName };
    }
    case "signedGrant": {
      // A signed grant aimed at a key the patient already decided on: often a deny it must not pass.
      if (op.pick === undefined) return op;
      const key = pickKey(op.patient, op.pick, false);
      const rest = { ...op };
      delete rest.pick;
      if (!key) return rest;
      return { ...rest, spec: { ...op.spec, grantee: named(key, op.pick), category: key.category as CategoryName } };
    }
    case "acceptKey": {
      if (op.pick === undefined) return op;
      const { pick: index, ...rest } = op;
      const proposals = GRANTEES.map((g) => ({
        id: g,
        key: nameOf(state.model.proposedKeyOf(world.address[g])),
      })).filter((p): p is { id: GranteeName; key: ActorName } => p.key !== undefined);
      if (proposals.length === 0) return rest;
      const chosen = proposals[index % proposals.length];
      return { ...rest, by: chosen.key, id: chosen.id };
    }
    case "retractBatchItem": {
      let resolved: Op & { kind: "retractBatchItem" } = op;
      if (op.pick !== undefined) {
        const rest = { ...op };
        delete rest.pick;
        resolved = rest;
        const held = state.model
          .anchoredBatches()
          .map((b) => world.batchKeys.findIndex((k) => k.id === b))
          .filter((i) => i >= 0);
        if (held.length > 0) resolved = { ...rest, batch: held[op.pick % held.length] };
      }
      return resolved.by === "patient" ? { ...resolved, by: BATCH_ITEMS[resolved.item].patient } : resolved;
    }
    case "recordAccess": {
      if (op.pick === undefined) return op;
      const key = pickKey(op.patient, op.pick, true);
      const rest = { ...op };
      delete rest.pick;
      if (!key) return rest;
      const lowest = (mask: number) => Math.max(0, Math.floor(Math.log2(mask & -mask)));
      return {
        ...rest,
        by: key.grantee as ActorName,
        category: key.category as CategoryName,
        purpose: lowest(key.consent.purposes),
        action: lowest(key.consent.actions),
      };
    }
    case "anchor": {
      let resolved: Op & { kind: "anchor" } = op.by === "patient" ? { ...op, by: op.patient } : op;
      if (op.supersedesPick !== undefined) {
        const index = op.supersedesPick;
        const rest = { ...resolved };
        delete rest.supersedesPick;
        resolved = rest;
        const own = state.model
          .anchoredRecords()
          .map((id) => world.universe.recordIds.indexOf(id))
          .filter((i) => i >= 0 && world.recordKeys[i].patient === op.patient);
        if (own.length > 0) resolved = { ...rest, supersedes: world.recordKeys[own[index % own.length]] };
      }
      return resolved;
    }
    case "retract": {
      let resolved: Op & { kind: "retract" } = op;
      if (op.pick !== undefined) {
        const ids = state.model.anchoredRecords();
        const rest = { ...op };
        delete rest.pick;
        resolved = rest;
        if (ids.length > 0) {
          const index = world.universe.recordIds.indexOf(ids[op.pick % ids.length]);
          if (index >= 0)
            resolved = { ...rest, patient: world.recordKeys[index].patient, content: world.recordKeys[index].content };
        }
      }
      return resolved.by === "patient" ? { ...resolved, by: resolved.patient } : resolved;
    }
    default:
      return op;
  }
}

/**
 * `selfDeal`: one of the patient's appointed delegates that is a provider key acts on a consent of its own provider
 * (named by any of its keys), or turns break-glass access on. Unchanged when the patient appointed no provider key.
 */
function selfDealing(state: ModelState, world: World, op: Op): Op {
  if (
    (op.kind !== "grant" && op.kind !== "revoke" && op.kind !== "deny" && op.kind !== "emergencySet") ||
    op.selfDeal === undefined
  )
    return op;
  const { selfDeal: index, ...rest } = op;
  const m = state.model;
  const providers = ACTORS.filter(
    (n) =>
      m.resolve(world.address[n]).status !== ProviderStatus.None &&
      m.delegateExpiry(world.address[op.patient], world.address[n]) > 0n,
  );
  if (providers.length === 0) return rest;
  const by = providers[index % providers.length];
  if (rest.kind === "emergencySet") return { ...rest, by, delegated: true, allowed: true };
  const own = m
    .keysOf(m.resolve(world.address[by]).id)
    .map((key) => GRANTEES.find((g) => world.address[g] === key))
    .filter((g): g is GranteeName => g !== undefined);
  const grantee = own.length > 0 ? own[Math.floor(index / providers.length) % own.length] : (by as GranteeName);
  if (rest.kind === "grant") return { ...rest, by, delegated: true, spec: { ...rest.spec, grantee } };
  return { ...rest, by, delegated: true, grantee };
}

/** A signature made (or replayed) for a signed operation, with the facts the model judges it by. */
interface PreparedSignature {
  patient: Address;
  args: GrantArgs | { grantee: Address; category: Bytes32 };
  submittedArgs: GrantArgs | { grantee: Address; category: Bytes32 };
  deadline: bigint;
  nonce: bigint;
  signature: string;
  facts: SignatureFacts;
}

interface Prepared {
  signed?: PreparedSignature;
}

/** The nonce a signature is made with: the key's next one, skewed as the operation says. */
function skewNonce(current: bigint, skew: NonceSkew): bigint {
  if (skew === "staleEpoch") {
    const epoch = current >> 128n;
    const sequence = current & ((1n << 128n) - 1n);
    // Made before the last cancelSignatures / revokeAll (or, in epoch 0, for an epoch that never came).
    return ((epoch > 0n ? epoch - 1n : epoch + 1n) << 128n) | sequence;
  }
  return clampTime(current + BigInt(skew));
}

/** How long a held signature stays valid, relative to the generated `deadlineIn`. */
const HELD_DEADLINE_FACTOR = 600n;

async function prepare(state: ModelState, world: World, op: Op, at: bigint): Promise<Prepared> {
  if (op.kind === "replay" || op.kind === "submitHeld") {
    const list = op.kind === "replay" ? state.accepted : state.held;
    const old = list[op.index % list.length];
    const patient = world.address[old.op.patient];
    return {
      signed: {
        patient,
        args: old.args,
        submittedArgs: old.args,
        deadline: old.deadline,
        nonce: old.nonce,
        signature: old.signature,
        facts: {
          signer: world.address[old.op.signer],
          nonce: old.nonce,
          domainOk: old.op.domain === "ok",
          matches: old.matches,
        },
      },
    };
  }
  if (op.kind !== "signedGrant" && op.kind !== "signedRevoke") return {};
  const patient = world.address[op.patient];
  const deadline = clampTime(at + BigInt(op.deadlineIn) * (op.hold ? HELD_DEADLINE_FACTOR : 1n));
  const signer = world.wallets[op.signer];
  const domain = domainFor(world, op.domain);
  if (op.kind === "signedGrant") {
    const args = grantArgs(world, op.patient, op.spec, at);
    const nonce = skewNonce(state.model.signatureNonce(patient, args.grantee, args.category), op.nonceSkew);
    const request = { patient, ...args };
    const signature = await signer.signTypedData(domain, GRANT_TYPES, { ...request, nonce, deadline });
    // A tampered submission changes what the relayer submits, not what the patient signed.
    const submittedArgs = op.tampered ? { ...args, purposes: (args.purposes ^ 1) >>> 0 || 2 } : args;
    return {
      signed: {
        patient,
        args: submittedArgs,
        submittedArgs,
        deadline,
        nonce,
        signature,
        facts: { signer: world.address[op.signer], nonce, domainOk: op.domain === "ok", matches: !op.tampered },
      },
    };
  }
  const args = { grantee: granteeAddress(world, op.patient, op.grantee), category: CATEGORY_IDS[op.category] };
  const nonce = skewNonce(state.model.signatureNonce(patient, args.grantee, args.category), op.nonceSkew);
  const signature = await signer.signTypedData(domain, REVOKE_TYPES, { patient, ...args, nonce, deadline });
  return {
    signed: {
      patient,
      args,
      submittedArgs: args,
      deadline,
      nonce,
      signature,
      facts: { signer: world.address[op.signer], nonce, domainOk: op.domain === "ok", matches: true },
    },
  };
}

/** The transaction of `op` for block time `at`: sender, contract, calldata (undefined for time operations). */
function encodeOp(
  world: World,
  op: Op,
  at: bigint,
  prepared: Prepared,
): { from: Address; to: Address; data: string } | undefined {
  const a = (n: ActorName) => world.address[n];
  const consents = (by: ActorName, data: string) => ({ from: a(by), to: world.consents, data });
  const c = consentInterface;
  switch (op.kind) {
    case "grant": {
      const patient = op.delegated ? op.patient : (op.by as PatientName);
      const g = grantArgs(world, patient, op.spec, at);
      return op.delegated
        ? consents(
            op.by,
            c.encodeFunctionData("grantFor", [
              a(op.patient),
              g.grantee,
              g.category,
              g.purposes,
              g.actions,
              g.notBefore,
              g.expiresAt,
            ]),
          )
        : consents(
            op.by,
            c.encodeFunctionData("grant", [g.grantee, g.category, g.purposes, g.actions, g.notBefore, g.expiresAt]),
          );
    }
    case "revoke":
    case "deny": {
      const patient = op.delegated ? op.patient : (op.by as PatientName);
      const grantee = granteeAddress(world, patient, op.grantee);
      const category = CATEGORY_IDS[op.category];
      if (op.kind === "revoke") {
        return op.delegated
          ? consents(op.by, c.encodeFunctionData("revokeFor", [a(op.patient), grantee, category]))
          : consents(op.by, c.encodeFunctionData("revoke", [grantee, category]));
      }
      return op.delegated
        ? consents(op.by, c.encodeFunctionData("denyFor", [a(op.patient), grantee, category]))
        : consents(op.by, c.encodeFunctionData("deny", [grantee, category]));
    }
    case "revokeAll":
      return op.delegated
        ? consents(op.by, c.encodeFunctionData("revokeAllFor", [a(op.patient)]))
        : consents(op.by, c.encodeFunctionData("revokeAll"));
    case "cancelSignatures":
      return op.delegated
        ? consents(op.by, c.encodeFunctionData("cancelSignaturesFor", [a(op.patient)]))
        : consents(op.by, c.encodeFunctionData("cancelSignatures"));
    case "setDelegate": {
      const delegate = op.delegate === "self" ? a(op.by) : op.delegate === "zero" ? ZERO_ADDRESS : a(op.delegate);
      return consents(op.by, c.encodeFunctionData("setDelegate", [delegate, clampTime(at + BigInt(op.expiresIn))]));
    }
    case "removeDelegate":
      return consents(op.by, c.encodeFunctionData("removeDelegate", [a(op.delegate)]));
    case "signedGrant":
    case "signedRevoke":
    case "replay":
    case "submitHeld": {
      const signed = prepared.signed;
      if (!signed) throw new Error("signed operation without a prepared signature");
      if ("expiresAt" in signed.submittedArgs) {
        return consents(
          op.relayer,
          c.encodeFunctionData("grantWithSig", [
            { patient: signed.patient, ...signed.submittedArgs },
            signed.deadline,
            signed.signature,
          ]),
        );
      }
      const r = signed.submittedArgs;
      return consents(
        op.relayer,
        c.encodeFunctionData("revokeWithSig", [
          signed.patient,
          r.grantee,
          r.category,
          signed.deadline,
          signed.signature,
        ]),
      );
    }
    case "suspend":
      return {
        from: a(op.by),
        to: world.providers,
        data: providerInterface.encodeFunctionData("suspend", [a(op.provider), id("reason")]),
      };
    case "reinstate":
      return {
        from: a(op.by),
        to: world.providers,
        data: providerInterface.encodeFunctionData("reinstate", [a(op.provider)]),
      };
    case "setCapabilities":
      return {
        from: a(op.by),
        to: world.providers,
        data: providerInterface.encodeFunctionData("setCapabilities", [a(op.provider), op.capabilities]),
      };
    case "rotateKey":
      return {
        from: a(op.by),
        to: world.providers,
        data: providerInterface.encodeFunctionData("rotateKey", [op.to === "zero" ? ZERO_ADDRESS : a(op.to)]),
      };
    case "acceptKey":
      return {
        from: a(op.by),
        to: world.providers,
        data: providerInterface.encodeFunctionData("acceptKey", [a(op.id)]),
      };
    case "emergencyOpen":
      return consents(op.by, c.encodeFunctionData("emergencyAccess", [a(op.patient), id("unconscious")]));
    case "emergencyClose":
      return op.delegated
        ? consents(op.by, c.encodeFunctionData("closeEmergencyAccessFor", [a(op.patient), a(op.provider)]))
        : consents(op.by, c.encodeFunctionData("closeEmergencyAccess", [a(op.provider)]));
    case "emergencySet":
      return op.delegated
        ? consents(op.by, c.encodeFunctionData("setEmergencyAccessFor", [a(op.patient), op.allowed]))
        : consents(op.by, c.encodeFunctionData("setEmergencyAccess", [op.allowed]));
    case "recordAccess":
      return consents(
        op.by,
        c.encodeFunctionData("recordAccess", [
          a(op.patient),
          CATEGORY_IDS[op.category],
          op.purpose,
          op.action,
          ZERO_BYTES32,
        ]),
      );
    case "anchor": {
      const supersedes = op.supersedes
        ? recordIdOf(a(op.supersedes.patient), contentHash(op.supersedes.content))
        : ZERO_BYTES32;
      const uri = op.uriLength === 0 ? "" : `ipfs://${"b".repeat(Math.max(0, op.uriLength - 7))}`;
      return {
        from: a(op.by === "patient" ? op.patient : op.by),
        to: world.records,
        data: recordInterface.encodeFunctionData("anchor", [
          a(op.patient),
          CATEGORY_IDS[op.category],
          contentHash(op.content),
          supersedes,
          uri,
        ]),
      };
    }
    case "retract":
      return {
        from: a(op.by === "patient" ? op.patient : op.by),
        to: world.records,
        data: recordInterface.encodeFunctionData("retract", [
          recordIdOf(a(op.patient), contentHash(op.content)),
          id("entered in error"),
        ]),
      };
    case "anchorBatch":
      return {
        from: a(op.by),
        to: world.records,
        data: recordInterface.encodeFunctionData("anchorBatch", [
          op.root === "zero" ? ZERO_BYTES32 : world.batchRoots[op.root],
          op.count,
          op.uriLength === 0 ? "" : `ipfs://${"b".repeat(Math.max(0, op.uriLength - 7))}`,
        ]),
      };
    case "retractBatchItem": {
      const item = BATCH_ITEMS[op.item];
      return {
        from: a(op.by === "patient" ? item.patient : op.by),
        to: world.records,
        data: recordInterface.encodeFunctionData("retractBatchItem", [
          world.batchKeys[op.batch].id,
          a(item.patient),
          CATEGORY_IDS[item.category],
          batchContentHash(item.content),
          id("not mine"),
        ]),
      };
    }
    case "wait":
    case "waitBoundary":
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Observations
// ---------------------------------------------------------------------------------------------------------------

/** One stored consent as observed. */
export interface ObservedConsent {
  purposes: number;
  actions: number;
  notBefore: bigint;
  expiresAt: bigint;
  issuedAt: bigint;
  epoch: number;
  decision: number;
  sequence: number;
}

/** Everything observable in the universe at one time (see ConsentGridProbe.Observation for the indexing). */
export interface ObservationData {
  timestamp: bigint;
  authorized: boolean[];
  consents: ObservedConsent[];
  statuses: number[];
  signatureNonces: bigint[];
  epochs: number[];
  emergencyAllowed: boolean[];
  emergencyExpiry: bigint[];
  delegateExpiries: bigint[];
  isDelegate: boolean[];
  providerIds: string[];
  providerStatus: number[];
  capabilities: number[];
  proposedKeys: string[];
  currentKeys: string[];
  /** keysOf of each grantee, joined with ",". */
  keyLists: string[];
  records: {
    patient: string;
    anchoredAt: bigint;
    status: number;
    category: string;
    anchoredBy: string;
    supersededBy: string;
  }[];
  batches: { root: string; submitter: string; count: number; anchoredAt: bigint }[];
  batchItemRetracted: boolean[];
  batchItemVerified: boolean[];
}

/** Everything observable in the universe at one time, from the chain or from the model, in one shape. */
export class Observation {
  declare readonly timestamp: bigint;
  declare readonly authorized: boolean[];
  declare readonly consents: ObservedConsent[];
  declare readonly statuses: number[];
  declare readonly signatureNonces: bigint[];
  declare readonly epochs: number[];
  declare readonly emergencyAllowed: boolean[];
  declare readonly emergencyExpiry: bigint[];
  declare readonly delegateExpiries: bigint[];
  declare readonly isDelegate: boolean[];
  declare readonly providerIds: string[];
  declare readonly providerStatus: number[];
  declare readonly capabilities: number[];
  declare readonly proposedKeys: string[];
  declare readonly currentKeys: string[];
  declare readonly keyLists: string[];
  declare readonly records: ObservationData["records"];
  declare readonly batches: ObservationData["batches"];
  declare readonly batchItemRetracted: boolean[];
  declare readonly batchItemVerified: boolean[];

  constructor(
    readonly world: World,
    data: ObservationData,
  ) {
    Object.assign(this, data);
  }

  static cell(p: number, g: number, c: number, purpose: number, action: number): number {
    return (((p * GRANTEES.length + g) * CATEGORIES.length + c) * PURPOSE_COUNT + purpose) * ACTION_COUNT + action;
  }

  static key(p: number, g: number, c: number): number {
    return (p * GRANTEES.length + g) * CATEGORIES.length + c;
  }

  delegateExpiry(owner: Address, delegate: Address): bigint {
    const o = this.world.universe.owners.indexOf(owner);
    const d = this.world.universe.candidates.indexOf(delegate);
    return this.delegateExpiries[o * ACTORS.length + d];
  }
}

/** Observes the chain through the probe: one eth_call. */
export async function observeChain(world: World): Promise<Observation> {
  stats.observations++;
  // The universe never changes: encode the call once.
  world.observeCall ??= probeInterface.encodeFunctionData("observe", [world.consents, world.records, world.universe]);
  const raw = await world.chain.send<string>("eth_call", [
    { to: world.probe, data: world.observeCall, gas: CALL_GAS },
    "latest",
  ]);
  const o = probeInterface.decodeFunctionResult("observe", raw)[0] as ConsentGridProbe.ObservationStructOutput;
  const cells = PATIENTS.length * GRANTEES.length * CATEGORIES.length * PURPOSE_COUNT * ACTION_COUNT;
  const authorized: boolean[] = [];
  for (let i = 0; i < cells; i++) authorized.push(((o.authorized[i >> 8] >> BigInt(i & 255)) & 1n) === 1n);
  return new Observation(world, {
    timestamp: o.timestamp,
    authorized,
    consents: o.consents.map((c) => ({
      purposes: Number(c.purposes),
      actions: Number(c.actions),
      notBefore: c.notBefore,
      expiresAt: c.expiresAt,
      issuedAt: c.issuedAt,
      epoch: Number(c.epoch),
      decision: Number(c.decision),
      sequence: Number(c.sequence),
    })),
    statuses: o.statuses.map(Number),
    signatureNonces: [...o.signatureNonces],
    epochs: o.epochs.map(Number),
    emergencyAllowed: [...o.emergencyAllowed],
    emergencyExpiry: [...o.emergencyExpiry],
    delegateExpiries: [...o.delegateExpiry],
    isDelegate: [...o.isDelegate],
    providerIds: o.providerIds.map((a) => a.toLowerCase()),
    providerStatus: o.providerStatus.map(Number),
    capabilities: o.capabilities.map(Number),
    proposedKeys: o.proposedKeys.map((a) => a.toLowerCase()),
    currentKeys: o.currentKeys.map((a) => a.toLowerCase()),
    keyLists: o.keyLists.map((keys) => keys.map((a) => a.toLowerCase()).join(",")),
    records: o.records.map((r) => ({
      patient: r.patient.toLowerCase(),
      anchoredAt: r.anchoredAt,
      status: Number(r.status),
      category: r.category.toLowerCase(),
      anchoredBy: r.anchoredBy.toLowerCase(),
      supersededBy: r.supersededBy.toLowerCase(),
    })),
    batches: o.batches.map((b) => ({
      root: b.root.toLowerCase(),
      submitter: b.submitter.toLowerCase(),
      count: Number(b.count),
      anchoredAt: b.anchoredAt,
    })),
    batchItemRetracted: [...o.batchItemRetracted],
    batchItemVerified: [...o.batchItemVerified],
  });
}

/** What the model says the probe must observe at time `at`. */
export function observeModel(world: World, m: ConsentModel, at: bigint): Observation {
  const u = world.universe;
  const authorized: boolean[] = [];
  const consents: ObservedConsent[] = [];
  const statuses: number[] = [];
  const signatureNonces: bigint[] = [];
  for (const patient of u.patients as string[]) {
    for (const grantee of u.grantees as string[]) {
      for (const category of u.categories as string[]) {
        const authorizes = m.authorization(patient, grantee, category, at);
        for (let purpose = 0; purpose < PURPOSE_COUNT; purpose++) {
          for (let action = 0; action < ACTION_COUNT; action++) {
            authorized.push(authorizes(1 << purpose, action));
          }
        }
        const { consent, status } = m.consentOf(patient, grantee, category, at);
        consents.push({ ...consent, decision: consent.decision });
        statuses.push(status);
        signatureNonces.push(m.signatureNonce(patient, grantee, category));
      }
    }
  }
  const patients = u.patients as string[];
  const grantees = u.grantees as string[];
  const emergencyExpiry: bigint[] = [];
  for (const p of patients) for (const g of grantees) emergencyExpiry.push(m.emergencyAccessExpiry(p, g));
  const delegateExpiries: bigint[] = [];
  const isDelegate: boolean[] = [];
  for (const owner of u.owners as string[]) {
    for (const d of u.candidates as string[]) {
      delegateExpiries.push(m.delegateExpiry(owner, d));
      isDelegate.push(m.isDelegate(owner, d, at));
    }
  }
  const batchItemRetracted: boolean[] = [];
  const batchItemVerified: boolean[] = [];
  for (const { id: batchId, root } of world.batchKeys) {
    BATCH_ITEMS.forEach((item, i) => {
      const args = [world.address[item.patient], CATEGORY_IDS[item.category], batchContentHash(item.content)] as const;
      batchItemRetracted.push(m.isBatchItemRetracted(batchId, ...args));
      batchItemVerified.push(m.verifyBatchItem(batchId, BATCH_ROOT_ITEMS[root].includes(i), ...args));
    });
  }
  return new Observation(world, {
    timestamp: at,
    authorized,
    consents,
    statuses,
    signatureNonces,
    epochs: patients.map((p) => m.epochOf(p)),
    emergencyAllowed: patients.map((p) => m.emergencyAccessAllowed(p)),
    emergencyExpiry,
    delegateExpiries,
    isDelegate,
    providerIds: grantees.map((g) => m.resolve(g).id),
    providerStatus: grantees.map((g) => m.resolve(g).status),
    capabilities: grantees.map((g) => m.resolve(g).capabilities),
    proposedKeys: grantees.map((g) => m.proposedKeyOf(g)),
    currentKeys: grantees.map((g) => m.currentKeyOf(g)),
    keyLists: grantees.map((g) => m.keysOf(g).join(",")),
    records: (u.recordIds as string[]).map((id) => {
      const r = m.recordOf(id);
      return { ...r, anchoredBy: r.status === RecordStatus.None ? ZERO_ADDRESS : r.anchoredBy };
    }),
    batches: world.batchKeys.map((b) => m.batchOf(b.id)),
    batchItemRetracted,
    batchItemVerified,
  });
}

const PURPOSE_NAMES = [
  "TREAT",
  "ETREAT",
  "HPAYMT",
  "HOPERAT",
  "HRESCH",
  "PUBHLTH",
  "PATRQT",
  "FAMRQT",
  "CAREMGT",
  "COVERAGE",
];
const ACTION_NAMES = ["COLLECT", "ACCESS", "USE", "DISCLOSE", "CORRECT"];

function cellName(i: number): string {
  const action = i % ACTION_COUNT;
  const purpose = Math.floor(i / ACTION_COUNT) % PURPOSE_COUNT;
  const c = Math.floor(i / (ACTION_COUNT * PURPOSE_COUNT)) % CATEGORIES.length;
  const g = Math.floor(i / (ACTION_COUNT * PURPOSE_COUNT * CATEGORIES.length)) % GRANTEES.length;
  const p = Math.floor(i / (ACTION_COUNT * PURPOSE_COUNT * CATEGORIES.length * GRANTEES.length));
  return `isAuthorized(${PATIENTS[p]},${GRANTEES[g]},${CATEGORIES[c]},${PURPOSE_NAMES[purpose]},${ACTION_NAMES[action]})`;
}

function keyName(i: number): string {
  const c = i % CATEGORIES.length;
  const g = Math.floor(i / CATEGORIES.length) % GRANTEES.length;
  const p = Math.floor(i / (CATEGORIES.length * GRANTEES.length));
  return `(${PATIENTS[p]},${GRANTEES[g]},${CATEGORIES[c]})`;
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

/** A canonical text of a consent or a record, whatever the order of its fields. */
function canonical(v: object): string {
  return json(Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** Every difference between the model's expectation and the chain's observation (at most `limit`). */
export function diffObservations(expected: Observation, actual: Observation, limit = 12): string[] {
  const out: string[] = [];
  const push = (s: string) => out.length < limit && out.push(s);
  if (expected.timestamp !== actual.timestamp)
    push(`timestamp: model ${expected.timestamp}, chain ${actual.timestamp}`);
  expected.authorized.forEach(
    (v, i) => v !== actual.authorized[i] && push(`${cellName(i)}: model ${v}, chain ${actual.authorized[i]}`),
  );
  expected.consents.forEach((v, i) => {
    if (canonical(v) !== canonical(actual.consents[i]))
      push(`consentOf${keyName(i)}: model ${json(v)}, chain ${json(actual.consents[i])}`);
  });
  expected.statuses.forEach(
    (v, i) =>
      v !== actual.statuses[i] &&
      push(`status${keyName(i)}: model ${ConsentStatus[v]}, chain ${ConsentStatus[actual.statuses[i]]}`),
  );
  expected.signatureNonces.forEach(
    (v, i) =>
      v !== actual.signatureNonces[i] &&
      push(`signatureNonce${keyName(i)}: model ${nonceText(v)}, chain ${nonceText(actual.signatureNonces[i])}`),
  );
  const simple: [string, keyof ObservationData][] = [
    ["epochOf", "epochs"],
    ["emergencyAccessAllowed", "emergencyAllowed"],
    ["emergencyAccessExpiry", "emergencyExpiry"],
    ["delegateExpiry", "delegateExpiries"],
    ["isDelegate", "isDelegate"],
    ["providerIds", "providerIds"],
    ["providerStatus", "providerStatus"],
    ["capabilities", "capabilities"],
    ["proposedKeyOf", "proposedKeys"],
    ["currentKeyOf", "currentKeys"],
    ["keysOf", "keyLists"],
    ["isBatchItemRetracted", "batchItemRetracted"],
    ["verifyBatchItem", "batchItemVerified"],
  ];
  for (const [name, field] of simple) {
    const e = expected[field] as unknown[];
    const a = actual[field] as unknown[];
    e.forEach((v, i) => v !== a[i] && push(`${name}[${i}]: model ${String(v)}, chain ${String(a[i])}`));
  }
  expected.records.forEach((v, i) => {
    if (canonical(v) !== canonical(actual.records[i])) {
      const k = expected.world.recordKeys[i];
      push(`recordOf(${k.patient},#${k.content}): model ${json(v)}, chain ${json(actual.records[i])}`);
    }
  });
  expected.batches.forEach((v, i) => {
    if (canonical(v) !== canonical(actual.batches[i])) {
      const k = expected.world.batchKeys[i];
      push(`batchOf(${k.submitter},root ${k.root}): model ${json(v)}, chain ${json(actual.batches[i])}`);
    }
  });
  return out;
}

/** A signature nonce as "epoch:sequence". */
function nonceText(nonce: bigint): string {
  return `${nonce >> 128n}:${nonce & ((1n << 128n) - 1n)}`;
}

/**
 * Model-independent invariants between two consecutive chain observations around `op` (executed at `at`):
 * 1. no account but the patient, a live delegate, or the patient's own signature changes a patient's consents,
 *    epoch, signature nonces, break-glass setting, delegates or the retraction of batch items naming the patient;
 *    signature nonces only move forward;
 * 2. a revoked, expired, denied or not-yet-valid consent never authorises: every `true` of isAuthorized is backed by
 *    an Active permit (category or ANY_CATEGORY) covering the purpose and the action, or by an open break-glass
 *    window (ETREAT + ACCESS); a Denied key (under any key the provider ever had) or a suspended provider is never
 *    authorised, and ANY_CATEGORY is never authorised as a data category;
 * 3. an anchored record's patient, time, category and anchoring account never change; its status only moves
 *    forward, and once superseded its successor never changes; an anchored batch never changes, a retracted batch
 *    item stays retracted and never verifies.
 */
export function checkInvariants(
  world: World,
  op: Op,
  at: bigint,
  before: Observation,
  after: Observation,
  prepared: Prepared = {},
): string[] {
  const out: string[] = [];
  const acting = actsFor(op, world, before, at, prepared);
  const u = world.universe;
  (u.patients as string[]).forEach((patient, p) => {
    if (acting.has(patient)) return;
    const name = PATIENTS[p];
    for (let g = 0; g < GRANTEES.length; g++) {
      // consentOf of a rotated key shows its provider's consent when none is stored under the key: a change of the
      // provider registry, not of the patient's consents. Compare only what is stored under the key itself.
      for (let c = 0; c < CATEGORIES.length; c++) {
        const k = Observation.key(p, g, c);
        const storedUnderKey = (o: Observation) => {
          const id = (u.grantees as string[]).indexOf(o.providerIds[g]);
          if (id < 0 || id === g) return true;
          // A rotated key: what consentOf shows may be its provider's consent (id's key).
          return canonical(o.consents[k]) !== canonical(o.consents[Observation.key(p, id, c)]);
        };
        if (before.signatureNonces[k] !== after.signatureNonces[k]) {
          out.push(`signature nonce of ${name}${keyName(k)} changed by ${describeOp(op)}`);
        }
        if (!storedUnderKey(before) || !storedUnderKey(after)) continue;
        if (canonical(before.consents[k]) !== canonical(after.consents[k])) {
          out.push(
            `consent of ${name}${keyName(k)} changed by ${describeOp(op)}: ${json(before.consents[k])} -> ${json(after.consents[k])}`,
          );
        }
      }
    }
    if (before.epochs[p] !== after.epochs[p]) out.push(`epoch of ${name} changed by ${describeOp(op)}`);
    if (before.emergencyAllowed[p] !== after.emergencyAllowed[p])
      out.push(`emergency setting of ${name} changed by ${describeOp(op)}`);
    for (let d = 0; d < ACTORS.length; d++) {
      const i = (u.owners as string[]).indexOf(patient) * ACTORS.length + d;
      if (before.delegateExpiries[i] !== after.delegateExpiries[i])
        out.push(`delegate ${ACTORS[d]} of ${name} changed by ${describeOp(op)}`);
    }
    world.batchKeys.forEach((batch, b) =>
      BATCH_ITEMS.forEach((item, i) => {
        const bit = b * BATCH_ITEMS.length + i;
        if (item.patient === name && before.batchItemRetracted[bit] !== after.batchItemRetracted[bit])
          out.push(`batch item ${i} of ${batch.submitter}'s root ${batch.root} (${name}) changed by ${describeOp(op)}`);
      }),
    );
  });
  after.signatureNonces.forEach(
    (n, k) => n < before.signatureNonces[k] && out.push(`signature nonce ${keyName(k)} went back`),
  );

  // 2. soundness (and completeness) of isAuthorized against consentOf, break-glass windows and provider status
  const t = after.timestamp;
  const grantees = world.universe.grantees as string[];
  const any = CATEGORIES.indexOf("any");
  for (let p = 0; p < PATIENTS.length; p++) {
    for (let g = 0; g < GRANTEES.length; g++) {
      const suspended =
        after.providerStatus[g] === ProviderStatus.Suspended || after.providerStatus[g] === ProviderStatus.Retired;
      // A rotated key's consents are also those kept under its provider's stable id (another grantee here).
      const idIndex = grantees.indexOf(after.providerIds[g]);
      const owners = idIndex >= 0 && idIndex !== g ? [g, idIndex] : [g];
      const anyKeys = owners.map((o) => Observation.key(p, o, any));
      // Denies under every key the provider ever had apply (keysOf of its id), else under the address itself.
      const denyOwners =
        after.providerStatus[g] === ProviderStatus.None || idIndex < 0
          ? [g]
          : after.keyLists[idIndex].split(",").map((key) => grantees.indexOf(key));
      if (denyOwners.some((o) => o < 0)) continue; // a key outside the universe: not observable here
      for (let c = 0; c < CATEGORIES.length; c++) {
        const keys = [...owners.map((o) => Observation.key(p, o, c)), ...anyKeys];
        const denied = denyOwners.some(
          (o) =>
            after.statuses[Observation.key(p, o, c)] === ConsentStatus.Denied ||
            after.statuses[Observation.key(p, o, any)] === ConsentStatus.Denied,
        );
        for (let purpose = 0; purpose < PURPOSE_COUNT; purpose++) {
          for (let action = 0; action < ACTION_COUNT; action++) {
            const covers = (key: number) =>
              after.statuses[key] === ConsentStatus.Active &&
              (after.consents[key].purposes & (1 << purpose)) !== 0 &&
              (after.consents[key].actions & (1 << action)) !== 0;
            const emergency =
              purpose === 1 &&
              action === 1 &&
              (after.capabilities[g] & Capability.EMERGENCY) !== 0 &&
              after.emergencyAllowed[p] &&
              t < after.emergencyExpiry[p * GRANTEES.length + g];
            const expected = c !== any && !suspended && !denied && (keys.some(covers) || emergency);
            const actual = after.authorized[Observation.cell(p, g, c, purpose, action)];
            if (actual !== expected) {
              out.push(
                `${cellName(Observation.cell(p, g, c, purpose, action))} is ${actual} but consentOf/windows say ${expected}`,
              );
              if (out.length > 12) return out;
            }
          }
        }
      }
    }
  }

  // 3. records and batches
  before.records.forEach((r, i) => {
    const next = after.records[i];
    const k = world.recordKeys[i];
    if (r.status === RecordStatus.None) return;
    if (
      next.patient !== r.patient ||
      next.anchoredAt !== r.anchoredAt ||
      next.category !== r.category ||
      next.anchoredBy !== r.anchoredBy
    ) {
      out.push(`record (${k.patient},#${k.content}) changed by ${describeOp(op)}: ${json(r)} -> ${json(next)}`);
    }
    if (next.status < r.status)
      out.push(`record (${k.patient},#${k.content}) status went back: ${r.status} -> ${next.status}`);
    if (r.supersededBy !== ZERO_BYTES32 && next.supersededBy !== r.supersededBy)
      out.push(`record (${k.patient},#${k.content}) successor changed`);
  });
  before.batches.forEach((b, i) => {
    if (b.root !== ZERO_BYTES32 && canonical(b) !== canonical(after.batches[i]))
      out.push(`batch ${i} changed by ${describeOp(op)}: ${json(b)} -> ${json(after.batches[i])}`);
  });
  after.batchItemRetracted.forEach((retracted, i) => {
    if (before.batchItemRetracted[i] && !retracted) out.push(`batch item ${i} un-retracted by ${describeOp(op)}`);
    if (retracted && after.batchItemVerified[i]) out.push(`retracted batch item ${i} still verifies`);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The fast-check command
// ---------------------------------------------------------------------------------------------------------------

/**
 * Whether to observe after a transaction that reverted as the model said (it changed nothing but the clock, by one
 * second): always in the long run (FUZZ=long) or with FUZZ_OBSERVE_ALL=1; `npm test` skips it to stay fast.
 */
const OBSERVE_AFTER_REVERTS = process.env.FUZZ === "long" || process.env.FUZZ_OBSERVE_ALL === "1";

/** Thrown when the chain disagrees with the model or an invariant: the message says exactly where. */
export class Mismatch extends Error {}

/** One operation as a fast-check command: runs it on both sides, then compares everything. */
export class OpCommand implements fc.AsyncCommand<ModelState, RealState> {
  constructor(readonly op: Op) {}

  check(state: Readonly<ModelState>): boolean {
    if (this.op.kind === "replay") return state.accepted.length > 0;
    if (this.op.kind === "submitHeld") return state.held.length > 0;
    return true;
  }

  async run(state: ModelState, real: RealState): Promise<void> {
    stats.commands++;
    const { world } = real;
    const m = state.model;
    const op = resolveOp(state, world, this.op);
    const before = real.last;
    let at: bigint;
    let prepared: Prepared = {};
    if ((op.kind === "signedGrant" || op.kind === "signedRevoke") && op.hold) {
      // Signed now, submitted later (submitHeld): nothing happens on the chain yet.
      const made = await prepare(state, world, op, m.now + 1n);
      const signed = made.signed;
      if (!signed) throw new Error("no signature made");
      state.held.push({
        op,
        args: signed.args,
        deadline: signed.deadline,
        nonce: signed.nonce,
        signature: signed.signature,
        matches: signed.facts.matches,
      });
      count(`${op.kind}(held)`, true);
      if (process.env.FUZZ_TRACE) console.log(`      ${describeOp(op)} -> held, nonce ${signed.nonce}`);
      return;
    }
    if (op.kind === "wait" || op.kind === "waitBoundary") {
      at = m.now + BigInt(Math.max(1, op.kind === "wait" ? op.seconds : 1));
      if (op.kind === "waitBoundary") {
        const boundaries = m.boundaries();
        if (boundaries.length > 0) {
          const target = boundaries[op.index % boundaries.length] + BigInt(op.delta);
          if (target > m.now) at = target;
        }
      }
      await world.chain.send("evm_setNextBlockTimestamp", [Number(at)]);
      await world.chain.send("evm_mine");
    } else {
      at = m.now + 1n;
      prepared = await prepare(state, world, op, at);
      const expected = applyToModel(state, world, op, at, prepared);
      const tx = encodeOp(world, op, at, prepared);
      if (!tx) throw new Error(`no transaction for ${describeOp(op)}`);
      await world.chain.send("evm_setNextBlockTimestamp", [Number(at)]);
      stats.transactions++;
      const sent = await transact(world.chain, tx.from, tx.to, tx.data);
      let actual: { ok: true } | { ok: false; error: string; args: string[] };
      if (sent.ok) actual = { ok: true };
      else {
        stats.reverts++;
        actual = { ok: false, ...decodeRevert(world, sent.data, sent.message) };
      }
      if (process.env.FUZZ_TRACE) console.log(`      ${describeOp(op)} -> ${json(actual)}`);
      count(
        op.kind === "grant" ||
          op.kind === "revoke" ||
          op.kind === "deny" ||
          op.kind === "revokeAll" ||
          op.kind === "cancelSignatures"
          ? `${op.kind}${op.delegated ? "For" : ""}`
          : op.kind,
        actual.ok,
      );
      if (!actual.ok) stats.byError[actual.error] = (stats.byError[actual.error] ?? 0) + 1;
      if (!sameOutcome(expected, actual)) {
        m.now = at;
        throw new Mismatch(
          `${describeOp(op)} at t=${at}: model says ${json(expected)}, chain says ${json(actual)}` +
            (prepared.signed
              ? ` (signature nonce ${prepared.signed.nonce}, deadline ${prepared.signed.deadline})`
              : ""),
        );
      }
      if (expected.ok && prepared.signed && (op.kind === "signedGrant" || op.kind === "signedRevoke")) {
        state.accepted.push({
          op,
          args: prepared.signed.args,
          deadline: prepared.signed.deadline,
          nonce: prepared.signed.nonce,
          signature: prepared.signed.signature,
          matches: true,
        });
      }
      if (expected.ok && op.kind === "submitHeld") {
        state.accepted.push(...state.held.splice(op.index % state.held.length, 1));
      }
      if (!expected.ok && !OBSERVE_AFTER_REVERTS) {
        // A revert changes nothing but the clock (one second): the next observation compares everything again.
        m.now = at;
        return;
      }
    }
    m.now = at;
    const after = await observeChain(world);
    const problems = [
      ...diffObservations(observeModel(world, m, after.timestamp), after),
      ...checkInvariants(world, op, at, before, after, prepared),
    ];
    real.last = after;
    if (problems.length > 0) throw new Mismatch(`after ${describeOp(op)} at t=${at}:\n  ${problems.join("\n  ")}`);
  }

  toString(): string {
    return describeOp(this.op);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------------------

const patient = fc.constantFrom<PatientName>(...PATIENTS);
const anyActor = fc.constantFrom<ActorName>(...ACTORS);
/** Who tries to act for a patient: mostly delegates (live, expired or never appointed), also other patients, a grantee, the stranger, the admin. */
const onBehalf = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<ActorName>("D0", "D1") },
  { weight: 2, arbitrary: fc.constantFrom<ActorName>("P0", "P1", "G1", "K", "S", "A") },
);
const granteeRef = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom<GranteeRef>("G0", "G1", "G2") },
  { weight: 3, arbitrary: fc.constant<GranteeRef>("K") }, // a fresh key that a provider may rotate to
  { weight: 1, arbitrary: fc.constantFrom<GranteeRef>("self", "zero") },
);
const categoryRef = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom<CategoryRef>("lab", "img", "any") },
  { weight: 1, arbitrary: fc.constant<CategoryRef>("zero") },
);
const purposes = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: PURPOSE_COUNT - 1 }).map((p) => 1 << p) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: (1 << PURPOSE_COUNT) - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1 << PURPOSE_COUNT, 0xffffffff) },
);
const actions = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: ACTION_COUNT - 1 }).map((a) => 1 << a) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: (1 << ACTION_COUNT) - 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1 << ACTION_COUNT, 0xff) },
);
const notBefore = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: -10, max: 0 }) },
);
const expiresIn = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 120 }) },
  { weight: 4, arbitrary: fc.constantFrom(3_600, 86_400, 30 * 86_400) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 0 }) },
);
const grantSpec: fc.Arbitrary<GrantSpec> = fc.record({
  grantee: granteeRef,
  category: categoryRef,
  purposes,
  actions,
  notBefore,
  expiresIn,
});
const provider = fc.constantFrom<GranteeName>(...GRANTEES);
const registrarOrNot = fc.oneof(
  { weight: 4, arbitrary: fc.constant<ActorName>("R") },
  { weight: 1, arbitrary: fc.constantFrom<ActorName>("A", "S") },
);
const signatureDomain = fc.oneof(
  { weight: 12, arbitrary: fc.constant<SignatureDomain>("ok") },
  { weight: 1, arbitrary: fc.constantFrom<SignatureDomain>("otherChain", "otherContract") },
);
const nonceSkew = fc.oneof(
  { weight: 12, arbitrary: fc.constant<NonceSkew>(0) },
  { weight: 1, arbitrary: fc.constantFrom<NonceSkew>(-1, 1, "staleEpoch") },
);
/** Sign now and submit later (with submitHeld), sometimes. */
const hold = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(true) });
const deadlineIn = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 100 }) },
  { weight: 2, arbitrary: fc.constant(0) }, // the last second the signature may be submitted
  { weight: 1, arbitrary: fc.integer({ min: -3, max: -1 }) },
);
const tampered = fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
const writer = fc.oneof(
  { weight: 5, arbitrary: fc.constant<ActorName | "patient">("patient") },
  { weight: 3, arbitrary: fc.constantFrom<ActorName | "patient">("D0", "D1", "G0", "G1", "G2", "K") },
  { weight: 1, arbitrary: fc.constantFrom<ActorName | "patient">("P0", "P1", "S", "A") },
);
const pick = fc.option(fc.nat(50), { freq: 4, nil: undefined });
/** Now and then, a provider key appointed as a delegate dealing with its own provider. */
const selfDeal = fc.option(fc.nat(20), { freq: 8, nil: undefined });
const anchorCategory = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom<CategoryRef>("lab", "img") },
  { weight: 2, arbitrary: fc.constant<CategoryRef>("any") },
  { weight: 1, arbitrary: fc.constant<CategoryRef>("zero") },
);

const op = <T extends Op>(arb: fc.Arbitrary<T>) => arb.map((o) => new OpCommand(o));
const weighted = (weight: number, arbitrary: fc.Arbitrary<OpCommand>) =>
  Array.from({ length: weight }, () => arbitrary);

/**
 * The operations fast-check picks from (an operation appears `weight` times), weighted towards consent changes and
 * time; senders are mostly the right ones so that most operations do something, with wrong ones mixed in.
 */
export function commandArbitraries(): fc.Arbitrary<OpCommand>[] {
  // [sender, delegated, appointed]: the patient themself, or someone acting for a patient (with `appointed`: one of
  // the delegates the patient appointed, live or expired, when there is one).
  const own: fc.Arbitrary<[ActorName, boolean, number | undefined]> = fc.tuple(
    patient,
    fc.constant(false),
    fc.constant(undefined),
  );
  const delegated: fc.Arbitrary<[ActorName, boolean, number | undefined]> = fc.tuple(
    onBehalf,
    fc.constant(true),
    fc.oneof({ weight: 3, arbitrary: fc.nat(5) }, { weight: 1, arbitrary: fc.constant(undefined) }),
  );
  const who = fc.oneof({ weight: 3, arbitrary: own }, { weight: 2, arbitrary: delegated });
  const signer = (p: PatientName) =>
    fc.oneof(
      { weight: 8, arbitrary: fc.constant<ActorName>(p) },
      { weight: 1, arbitrary: fc.constantFrom<ActorName>("P0", "P1", "D0") },
    );
  return [
    ...weighted(
      6,
      op(
        fc
          .record({ who, patient, spec: grantSpec, selfDeal })
          .map(({ who: [by, d, appointed], patient: p, spec, selfDeal: sd }) => ({
            kind: "grant" as const,
            by,
            patient: d ? p : (by as PatientName),
            delegated: d,
            spec,
            appointed,
            selfDeal: sd,
          })),
      ),
    ),
    ...weighted(
      4,
      op(
        fc
          .record({
            kind: fc.constantFrom("revoke" as const, "revoke" as const, "deny" as const),
            who,
            patient,
            grantee: granteeRef,
            category: categoryRef,
            pick,
            selfDeal,
          })
          .map(({ who: [by, d, appointed], patient: p, ...r }) => ({
            ...r,
            by,
            patient: d ? p : (by as PatientName),
            delegated: d,
            appointed,
          })),
      ),
    ),
    op(
      fc
        .record({ kind: fc.constantFrom("revokeAll" as const, "cancelSignatures" as const), who, patient })
        .map(({ kind, who: [by, d, appointed], patient: p }) => ({
          kind,
          by,
          patient: d ? p : (by as PatientName),
          delegated: d,
          appointed,
        })),
    ),
    ...weighted(
      2,
      op(
        fc
          .record({
            by: fc.oneof(
              { weight: 6, arbitrary: patient },
              { weight: 1, arbitrary: fc.constantFrom<ActorName>("D0", "S") },
            ),
            delegate: fc.oneof(
              { weight: 8, arbitrary: fc.constantFrom<ActorName | "self" | "zero">("D0", "D1") },
              // A provider's key as a delegate: it must not deal with itself through another key of its provider.
              { weight: 2, arbitrary: fc.constantFrom<ActorName | "self" | "zero">("G0", "G1", "K") },
              { weight: 1, arbitrary: fc.constantFrom<ActorName | "self" | "zero">("S", "self", "zero") },
            ),
            expiresIn: fc.oneof(
              { weight: 3, arbitrary: fc.integer({ min: 1, max: 150 }) },
              { weight: 3, arbitrary: fc.constantFrom(3_600, 30 * 86_400) },
              { weight: 1, arbitrary: fc.integer({ min: -2, max: 0 }) },
            ),
          })
          .map((r) => ({ kind: "setDelegate" as const, ...r })),
      ),
    ),
    op(
      fc
        .record({
          by: fc.constantFrom<ActorName>("P0", "P1", "P0", "P1", "D0"),
          delegate: fc.constantFrom<ActorName>("D0", "D1", "S"),
          appointed: fc.option(fc.nat(5), { freq: 4, nil: undefined }),
        })
        .map((r) => ({ kind: "removeDelegate" as const, ...r })),
    ),
    ...weighted(
      3,
      op(
        patient.chain((p) =>
          fc
            .record({
              relayer: anyActor,
              signer: signer(p),
              nonceSkew,
              deadlineIn,
              domain: signatureDomain,
              tampered,
              spec: grantSpec,
              pick,
              hold,
            })
            .map((r) => ({ kind: "signedGrant" as const, patient: p, ...r })),
        ),
      ),
    ),
    op(
      patient.chain((p) =>
        fc
          .record({
            relayer: anyActor,
            signer: signer(p),
            nonceSkew,
            deadlineIn,
            domain: signatureDomain,
            grantee: granteeRef,
            category: categoryRef,
            pick,
            hold,
          })
          .map((r) => ({ kind: "signedRevoke" as const, patient: p, ...r })),
      ),
    ),
    op(fc.record({ relayer: anyActor, index: fc.nat(20) }).map((r) => ({ kind: "replay" as const, ...r }))),
    ...weighted(
      2,
      op(fc.record({ relayer: anyActor, index: fc.nat(20) }).map((r) => ({ kind: "submitHeld" as const, ...r }))),
    ),
    ...weighted(
      2,
      op(
        fc
          .record({
            kind: fc.constantFrom("suspend" as const, "reinstate" as const),
            by: registrarOrNot,
            provider,
            pick,
          })
          .map((r) => r as Extract<Op, { kind: "suspend" | "reinstate" }>),
      ),
    ),
    op(
      fc
        .record({
          by: registrarOrNot,
          provider: fc.constantFrom<GranteeName>("G0", "G1", "K"),
          capabilities: fc.integer({ min: 1, max: 7 }),
        })
        .map((r) => ({ kind: "setCapabilities" as const, ...r })),
    ),
    // A provider proposes a fresh key (K, or G2 that may hold consents as a plain address), withdraws a proposal
    // (zero), or tries a taken address or a retired key; the proposed key (or another) accepts.
    op(
      fc
        .record({
          by: fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom<ActorName>("G0", "G1") },
            { weight: 2, arbitrary: fc.constantFrom<ActorName>("K", "G2") },
            { weight: 1, arbitrary: fc.constant<ActorName>("S") },
          ),
          to: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom<ActorName | "zero">("K", "G2") },
            { weight: 1, arbitrary: fc.constantFrom<ActorName | "zero">("G1", "S", "zero") },
          ),
        })
        .map((r) => ({ kind: "rotateKey" as const, ...r })),
    ),
    ...weighted(
      2,
      op(
        fc
          .record({
            by: fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom<ActorName>("K", "G2") },
              { weight: 1, arbitrary: fc.constantFrom<ActorName>("G0", "P0") },
            ),
            id: fc.oneof(
              { weight: 4, arbitrary: fc.constantFrom<GranteeName>("G0", "G1") },
              { weight: 1, arbitrary: fc.constant<GranteeName>("K") },
            ),
            pick: fc.option(fc.nat(10), { freq: 6, nil: undefined }),
          })
          .map((r) => ({ kind: "acceptKey" as const, ...r })),
      ),
    ),
    ...weighted(
      2,
      op(
        fc
          .record({
            by: fc.oneof(
              { weight: 4, arbitrary: fc.constant<ActorName>("G1") },
              { weight: 2, arbitrary: fc.constant<ActorName>("K") },
              { weight: 1, arbitrary: fc.constantFrom<ActorName>("G0", "G2", "S") },
            ),
            patient,
          })
          .map((r) => ({ kind: "emergencyOpen" as const, ...r })),
      ),
    ),
    op(
      fc
        .record({ who, patient, provider: fc.constantFrom<GranteeName>("G1", "G1", "G1", "G0"), pick })
        .map(({ who: [by, d, appointed], patient: p, provider: pr, pick: pk }) => ({
          kind: "emergencyClose" as const,
          by,
          patient: d ? p : (by as PatientName),
          delegated: d,
          provider: pr,
          appointed,
          pick: pk,
        })),
    ),
    op(
      fc
        .record({ who, patient, allowed: fc.boolean(), selfDeal })
        .map(({ who: [by, d, appointed], patient: p, allowed, selfDeal: sd }) => ({
          kind: "emergencySet" as const,
          by,
          patient: d ? p : (by as PatientName),
          delegated: d,
          allowed,
          appointed,
          selfDeal: sd,
        })),
    ),
    op(
      fc
        .record({
          by: fc.constantFrom<ActorName>("G0", "G1", "G2", "K", "S"),
          patient,
          category: categoryRef,
          purpose: fc.integer({ min: 0, max: PURPOSE_COUNT - 1 }),
          action: fc.integer({ min: 0, max: ACTION_COUNT - 1 }),
          pick,
        })
        .map((r) => ({ kind: "recordAccess" as const, ...r })),
    ),
    ...weighted(
      4,
      op(
        fc
          .record({
            by: writer,
            patient,
            category: anchorCategory,
            content: fc.nat(CONTENTS - 1),
            supersedes: fc.oneof(
              { weight: 6, arbitrary: fc.constant(null) },
              { weight: 1, arbitrary: fc.record({ patient, content: fc.nat(CONTENTS - 1) }) },
            ),
            supersedesPick: fc.oneof(
              { weight: 1, arbitrary: fc.constant(undefined) },
              { weight: 1, arbitrary: fc.nat(10) },
            ),
            uriLength: fc.oneof(
              { weight: 20, arbitrary: fc.constantFrom(0, 66) },
              { weight: 1, arbitrary: fc.constant(513) },
            ),
          })
          .map((r) => ({ kind: "anchor" as const, ...r })),
      ),
    ),
    op(
      fc
        .record({ by: writer, patient, content: fc.nat(CONTENTS - 1), pick })
        .map((r) => ({ kind: "retract" as const, ...r })),
    ),
    op(
      fc
        .record({
          by: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom<ActorName>("G0", "G1", "K") },
            { weight: 2, arbitrary: fc.constantFrom<ActorName>("G2", "S", "P0") },
          ),
          root: fc.oneof(
            { weight: 10, arbitrary: fc.constantFrom<number | "zero">(0, 1) },
            { weight: 1, arbitrary: fc.constant<number | "zero">("zero") },
          ),
          count: fc.oneof(
            { weight: 10, arbitrary: fc.integer({ min: 1, max: BATCH_ITEMS.length }) },
            { weight: 1, arbitrary: fc.constant(0) },
          ),
          uriLength: fc.oneof(
            { weight: 20, arbitrary: fc.constantFrom(0, 66) },
            { weight: 1, arbitrary: fc.constant(513) },
          ),
        })
        .map((r) => ({ kind: "anchorBatch" as const, ...r })),
    ),
    op(
      fc
        .record({
          by: fc.oneof(
            { weight: 5, arbitrary: fc.constant<ActorName | "patient">("patient") },
            { weight: 3, arbitrary: fc.constantFrom<ActorName | "patient">("D0", "D1") },
            { weight: 2, arbitrary: fc.constantFrom<ActorName | "patient">("G1", "S", "P0", "P1") },
          ),
          batch: fc.nat(BATCH_SUBMITTERS.length * BATCH_ROOT_ITEMS.length - 1),
          item: fc.nat(BATCH_ITEMS.length - 1),
          pick: fc.option(fc.nat(50), { freq: 6, nil: undefined }),
        })
        .map((r) => ({ kind: "retractBatchItem" as const, ...r })),
    ),
    // A new version by the patient of one of their records (again and again: the older versions must refuse).
    ...weighted(
      2,
      op(
        fc
          .record({ patient, category: anchorCategory, content: fc.nat(CONTENTS - 1), supersedesPick: fc.nat(10) })
          .map((r) => ({ kind: "anchor" as const, by: "patient" as const, supersedes: null, uriLength: 66, ...r })),
      ),
    ),
    ...weighted(
      2,
      op(
        fc
          .oneof(
            { weight: 5, arbitrary: fc.constantFrom(1, 2, 5, 30) },
            { weight: 1, arbitrary: fc.constantFrom(3_600, 86_400, 86_401) },
          )
          .map((seconds) => ({ kind: "wait" as const, seconds })),
      ),
    ),
    ...weighted(
      3,
      op(
        fc
          .record({ index: fc.nat(8), delta: fc.constantFrom(-1, 0, 0, 1) })
          .map((r) => ({ kind: "waitBoundary" as const, ...r })),
      ),
    ),
  ];
}

/**
 * The state every run starts from, so that short runs still meet delegates, permits, windows and records: P0 appoints
 * D0 for 30 days and P1 appoints D1 for 200 s; P0 permits G0 TREAT+ACCESS on lab for 30 days and G2 USE on any
 * category from +20 s to +300 s; P1 permits G1 COLLECT+ACCESS on every category for a day and denies G0 imaging;
 * P1 also appoints K (a fresh address that a provider may rotate to) for a day; G1 opens a break-glass window on P0;
 * G1 proposes K as its next key (K has not accepted); P0 anchors content #0 (lab); G1 anchors a batch of every batch item. Each step
 * is checked like any other.
 */
export const BASELINE: Op[] = [
  { kind: "setDelegate", by: "P0", delegate: "D0", expiresIn: 30 * 86_400 },
  { kind: "setDelegate", by: "P1", delegate: "D1", expiresIn: 200 },
  // K, a fresh address a provider may rotate to, is P1's carer: once a provider key, it must not deal with itself.
  { kind: "setDelegate", by: "P1", delegate: "K", expiresIn: 86_400 },
  {
    kind: "grant",
    by: "P0",
    patient: "P0",
    delegated: false,
    spec: {
      grantee: "G0",
      category: "lab",
      purposes: 1 << 0,
      actions: 1 << 1,
      notBefore: null,
      expiresIn: 30 * 86_400,
    },
  },
  {
    kind: "grant",
    by: "P0",
    patient: "P0",
    delegated: false,
    spec: { grantee: "G2", category: "any", purposes: 1 << 0, actions: 1 << 2, notBefore: 20, expiresIn: 300 },
  },
  {
    kind: "grant",
    by: "P1",
    patient: "P1",
    delegated: false,
    spec: {
      grantee: "G1",
      category: "any",
      purposes: (1 << 0) | (1 << 8),
      actions: (1 << 0) | (1 << 1),
      notBefore: null,
      expiresIn: 86_400,
    },
  },
  { kind: "deny", by: "P1", patient: "P1", delegated: false, grantee: "G0", category: "img" },
  { kind: "emergencyOpen", by: "G1", patient: "P0" },
  { kind: "anchor", by: "P0", patient: "P0", category: "lab", content: 0, supersedes: null, uriLength: 66 },
  { kind: "anchorBatch", by: "G1", root: 0, count: BATCH_ITEMS.length, uriLength: 66 },
  // G1 proposes K as its next key: nothing moves until K accepts (acceptKey), which a run may do at any point.
  { kind: "rotateKey", by: "G1", to: "K" },
];

/** Runs {BASELINE} on the freshly deployed world (checking every step) and snapshots the chain and the model. */
export async function prepareBaseline(world: World): Promise<void> {
  const model = new ConsentModel({
    now: await latestTimestamp(world.chain),
    registrars: [world.address.R],
    providers: [
      { address: world.address.G0, capabilities: Capability.TREATMENT },
      { address: world.address.G1, capabilities: Capability.TREATMENT | Capability.EMERGENCY },
    ],
  });
  const state: ModelState = { model, accepted: [], held: [] };
  const real: RealState = { world, last: await observeChain(world) };
  for (const op of BASELINE) await new OpCommand(op).run(state, real);
  world.baseline = model.clone();
  world.snapshotId = await world.chain.send<string>("evm_snapshot");
}

/** Restores the snapshot and returns a fresh model and real state (asyncModelRun's setup). */
export async function freshRun(world: World): Promise<{ model: ModelState; real: RealState }> {
  if (!world.baseline) throw new Error("prepareBaseline(world) first");
  await restoreWorld(world);
  stats.runs++;
  if (process.env.FUZZ_TRACE) console.log(`      --- run ${stats.runs}`);
  const model = world.baseline.clone();
  const last = await observeChain(world);
  const problems = diffObservations(observeModel(world, model, last.timestamp), last);
  if (problems.length > 0) throw new Mismatch(`initial state:\n  ${problems.join("\n  ")}`);
  return { model: { model, accepted: [], held: [] }, real: { world, last } };
}
