/**
 * The reference model of the three registries, written from their SPECIFICATION (the NatSpec of
 * contracts/interfaces/*.sol, contracts/ConsentCodes.sol, the design facts of the team brief and the rules of issue 11),
 * not from the contracts' code. It is a plain in-memory state machine: every operation takes the sender and the
 * timestamp of the block it executes in, and either succeeds (changing the state) or names the custom error the
 * specification says it must revert with, changing nothing (a revert rolls everything back).
 *
 * The model-based property tests (consent.model.test.ts) run random operation sequences against both the model and
 * the real contracts and require them to agree on every outcome and on every view after every step.
 *
 * Readings of the specification that are not spelled out word for word (documented in docs/testing.md):
 * - a stored permit or deny stays revocable after it expired or after `revokeAll` (it is still "a permit");
 * - checks run in the order the NatSpec lists them: access control, then the arguments, then the state; except that
 *   a signed grant or revocation is first checked for a deny in force ({DenyInForce}) and a signed revocation for
 *   something to revoke ({NothingToRevoke}), before its signature: a deny moves the key's nonce on, so a signature
 *   made before it would otherwise only ever be refused as InvalidSignature, never named as the deny it meets;
 * - a signed revocation whose consent is kept under the provider's id uses up the nonce of the key as signed: that
 *   slot's sequence moves on even when nothing else is stored there (consentOf then still shows the id's consent);
 * - `uint40` times: every time in this model stays far below 2^40, so no truncation arises.
 */
import { AbiCoder, id, keccak256 } from "ethers";

import { ConsentStatus, Decision, ProviderStatus, RecordStatus } from "../../src/codes";

/** A lower-case 0x address. */
export type Address = string;
/** A lower-case 0x bytes32. */
export type Bytes32 = string;

export const ZERO_ADDRESS: Address = "0x0000000000000000000000000000000000000000";
export const ZERO_BYTES32: Bytes32 = `0x${"0".repeat(64)}`;
/** keccak256("*") */
export const ANY_CATEGORY: Bytes32 = id("*");
/** keccak256("REGISTRAR_ROLE") */
export const REGISTRAR_ROLE: Bytes32 = id("REGISTRAR_ROLE");
/** The break-glass window: 24 hours. */
export const EMERGENCY_WINDOW = 24n * 60n * 60n;
export const PURPOSE_COUNT = 10;
export const ACTION_COUNT = 5;
export const ALL_PURPOSES = (1 << PURPOSE_COUNT) - 1;
export const ALL_ACTIONS = (1 << ACTION_COUNT) - 1;
export const ETREAT = 1;
export const ACCESS = 1;
export const COLLECT = 0;
export const CAPABILITY_EMERGENCY = 2;
export const ALL_CAPABILITIES = 7;
export const MAX_URI_LENGTH = 512;

/** A custom error, as the specification names it, with its arguments. */
export interface ModelError {
  error: string;
  args: readonly (string | bigint | number | boolean)[];
}

/** What an operation does: succeeds (with an optional return value) or reverts with a named custom error. */
export type Outcome = { ok: true; value?: string } | ({ ok: false } & ModelError);

const OK: Outcome = { ok: true };

function fail(error: string, ...args: (string | bigint | number | boolean)[]): Outcome {
  return { ok: false, error, args };
}

/** One stored consent, as `consentOf` returns it. */
export interface StoredConsent {
  purposes: number;
  actions: number;
  notBefore: bigint;
  expiresAt: bigint;
  issuedAt: bigint;
  epoch: number;
  decision: Decision;
  /** How many decisions were made on the key: the low half of its next signature nonce. */
  sequence: number;
}

export const EMPTY_CONSENT: Readonly<StoredConsent> = Object.freeze({
  purposes: 0,
  actions: 0,
  notBefore: 0n,
  expiresAt: 0n,
  issuedAt: 0n,
  epoch: 0,
  decision: Decision.None,
  sequence: 0,
});

/** The arguments of `grant` (and `grantFor`, and of a signed `GrantRequest` without its patient). */
export interface GrantArgs {
  grantee: Address;
  category: Bytes32;
  purposes: number;
  actions: number;
  notBefore: bigint;
  expiresAt: bigint;
}

/**
 * A signature as submitted. The model does not do cryptography: the test harness states what the signature is.
 * `signer` is the account whose key made it (undefined for garbage bytes); `nonce` the nonce it was made with;
 * `domainOk` says whether it was made for this chain and this registry; `matches` whether it covers exactly the
 * message submitted (patient, body, deadline).
 */
export interface SignatureFacts {
  signer?: Address;
  nonce: bigint;
  domainOk: boolean;
  matches: boolean;
}

export interface ProviderEntry {
  id: Address;
  status: ProviderStatus;
  capabilities: number;
}

export interface RecordEntry {
  patient: Address;
  anchoredAt: bigint;
  status: RecordStatus;
  category: Bytes32;
  anchoredBy: Address;
  supersededBy: Bytes32;
}

export const EMPTY_RECORD: Readonly<RecordEntry> = Object.freeze({
  patient: ZERO_ADDRESS,
  anchoredAt: 0n,
  status: RecordStatus.None,
  category: ZERO_BYTES32,
  anchoredBy: ZERO_ADDRESS,
  supersededBy: ZERO_BYTES32,
});

/** A Merkle batch, as `batchOf` returns it. */
export interface BatchEntry {
  root: Bytes32;
  submitter: Address;
  count: number;
  anchoredAt: bigint;
}

export const EMPTY_BATCH: Readonly<BatchEntry> = Object.freeze({
  root: ZERO_BYTES32,
  submitter: ZERO_ADDRESS,
  count: 0,
  anchoredAt: 0n,
});

/** A break-glass window of one provider (by stable id) on one patient. */
interface EmergencyWindow {
  expiresAt: bigint;
  /** The patient's emergency epoch it belongs to: a refusal of break-glass access starts a new one. */
  emergencyEpoch: number;
  /** The patient (or a delegate) closed it: the provider cannot open another in this emergency epoch. */
  closed: boolean;
}

const lower = (value: string): string => value.toLowerCase();
const key2 = (a: string, b: string): string => `${lower(a)}|${lower(b)}`;
const key3 = (a: string, b: string, c: string): string => `${lower(a)}|${lower(b)}|${lower(c)}`;

/** `keccak256(abi.encode(patient, contentHash))`, the id of a record (IRecordRegistry.anchor). */
export function recordIdOf(patient: Address, contentHash: Bytes32): Bytes32 {
  return lower(keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [patient, contentHash])));
}

/** `uint256(keccak256(abi.encode(submitter, root)))`, the id of a batch (IRecordRegistry.anchorBatch). */
export function batchIdOf(submitter: Address, root: Bytes32): bigint {
  return BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [submitter, root])));
}

const leaves = new Map<string, Bytes32>();

/** The OpenZeppelin StandardMerkleTree leaf of `(address patient, bytes32 category, bytes32 contentHash)`. */
export function batchLeafOf(patient: Address, category: Bytes32, contentHash: Bytes32): Bytes32 {
  const key = key3(patient, category, contentHash);
  let leaf = leaves.get(key);
  if (leaf === undefined) {
    const inner = keccak256(
      AbiCoder.defaultAbiCoder().encode(["address", "bytes32", "bytes32"], [patient, category, contentHash]),
    );
    leaf = lower(keccak256(inner));
    leaves.set(key, leaf);
  }
  return leaf;
}

/** The reference model of ProviderRegistry + ConsentRegistry + RecordRegistry. */
export class ConsentModel {
  /** The timestamp of the latest block. */
  now: bigint;

  private readonly consents = new Map<string, StoredConsent>();
  private readonly epochs = new Map<Address, number>();
  private readonly signatureEpochs = new Map<Address, number>();
  private readonly emergencyRefused = new Set<Address>();
  private readonly emergencyEpochs = new Map<Address, number>();
  private readonly delegates = new Map<string, bigint>();
  private readonly windows = new Map<string, EmergencyWindow>();
  private readonly providers = new Map<Address, ProviderEntry>();
  /** Every key a provider (by stable id) ever had, oldest first. */
  private readonly keys = new Map<Address, Address[]>();
  /** The key a provider (by stable id) proposed and that has not accepted yet. */
  private readonly proposed = new Map<Address, Address>();
  private readonly registrars = new Set<Address>();
  private readonly records = new Map<Bytes32, RecordEntry>();
  private readonly batches = new Map<string, BatchEntry>();
  /** `${batchId}|${leaf}` of every retracted batch item. */
  private readonly retractedItems = new Set<string>();

  constructor(init: { now: bigint; registrars: Address[]; providers: { address: Address; capabilities: number }[] }) {
    this.now = init.now;
    for (const registrar of init.registrars) this.registrars.add(lower(registrar));
    for (const { address, capabilities } of init.providers) {
      this.providers.set(lower(address), { id: lower(address), status: ProviderStatus.Active, capabilities });
      this.keys.set(lower(address), [lower(address)]);
    }
  }

  /** An independent copy of the whole state. */
  clone(): ConsentModel {
    return Object.assign(Object.create(ConsentModel.prototype) as ConsentModel, structuredClone({ ...this }));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Views
  // -------------------------------------------------------------------------------------------------------------

  /** IProviderRegistry.resolve: the stable id (the account itself when unregistered), its status, capabilities. */
  resolve(account: Address): ProviderEntry {
    const entry = this.providers.get(lower(account));
    return entry ? { ...entry } : { id: lower(account), status: ProviderStatus.None, capabilities: 0 };
  }

  /** IProviderRegistry.keysOf: `id`, then every key it accepted (empty for a non-provider). */
  keysOf(id: Address): Address[] {
    return [...(this.keys.get(lower(id)) ?? [])];
  }

  /** IProviderRegistry.currentKeyOf (zero for a non-provider). */
  currentKeyOf(id: Address): Address {
    const keys = this.keysOf(id);
    return keys.length === 0 ? ZERO_ADDRESS : keys[keys.length - 1];
  }

  /** IProviderRegistry.proposedKeyOf (zero when none). */
  proposedKeyOf(id: Address): Address {
    return this.proposed.get(lower(id)) ?? ZERO_ADDRESS;
  }

  epochOf(patient: Address): number {
    return this.epochs.get(lower(patient)) ?? 0;
  }

  signatureEpochOf(patient: Address): number {
    return this.signatureEpochs.get(lower(patient)) ?? 0;
  }

  /**
   * IConsentRegistry.signatureNonce: the patient's signature epoch in the high 128 bits, the sequence of the key
   * exactly as the signature names it (no provider lookup) in the low 128 bits.
   */
  signatureNonce(patient: Address, grantee: Address, category: Bytes32): bigint {
    return (BigInt(this.signatureEpochOf(patient)) << 128n) | BigInt(this.stored(patient, grantee, category).sequence);
  }

  emergencyAccessAllowed(patient: Address): boolean {
    return !this.emergencyRefused.has(lower(patient));
  }

  private emergencyEpochOf(patient: Address): number {
    return this.emergencyEpochs.get(lower(patient)) ?? 0;
  }

  /** The window of the provider with stable id `key` on `patient`, when it belongs to the current emergency epoch. */
  private liveWindow(patient: Address, key: Address): EmergencyWindow | undefined {
    const window = this.windows.get(key2(patient, key));
    return window && window.emergencyEpoch === this.emergencyEpochOf(patient) ? window : undefined;
  }

  /**
   * The end of `provider`'s break-glass window on `patient` (0, or a past time, when none is open; 0 once the
   * patient closed it or refused break-glass access after it opened).
   */
  emergencyAccessExpiry(patient: Address, provider: Address): bigint {
    return this.liveWindow(patient, this.resolve(provider).id)?.expiresAt ?? 0n;
  }

  delegateExpiry(patient: Address, delegate: Address): bigint {
    return this.delegates.get(key2(patient, delegate)) ?? 0n;
  }

  /** A delegate's term runs while `at < expiresAt`. */
  isDelegate(patient: Address, delegate: Address, at: bigint): boolean {
    return at < this.delegateExpiry(patient, delegate);
  }

  /** The consent stored under exactly (patient, key, category). */
  stored(patient: Address, key: Address, category: Bytes32): StoredConsent {
    return { ...(this.consents.get(key3(patient, key, category)) ?? EMPTY_CONSENT) };
  }

  /**
   * IConsentRegistry.consentOf: the consent stored for the key, and its status at `at`. When nothing is stored under
   * `grantee` and it is a rotated provider key (a key that is not the provider's stable id), the consent kept under
   * the stable id.
   */
  consentOf(
    patient: Address,
    grantee: Address,
    category: Bytes32,
    at: bigint,
  ): { consent: StoredConsent; status: ConsentStatus } {
    let consent = this.stored(patient, grantee, category);
    if (consent.decision === Decision.None) {
      const id = this.resolve(grantee).id;
      if (id !== lower(grantee)) consent = this.stored(patient, id, category);
    }
    return { consent, status: this.statusOf(patient, consent, at) };
  }

  /** ConsentStatus of a stored consent (ConsentCodes.sol): None, Denied, Revoked (singly or by epoch), Pending, Expired, Active. */
  statusOf(patient: Address, consent: StoredConsent, at: bigint): ConsentStatus {
    switch (consent.decision) {
      case Decision.None:
        return ConsentStatus.None;
      case Decision.Deny:
        return ConsentStatus.Denied;
      case Decision.Revoked:
        return ConsentStatus.Revoked;
      default:
        if (consent.epoch !== this.epochOf(patient)) return ConsentStatus.Revoked;
        if (at < consent.notBefore) return ConsentStatus.Pending;
        if (at >= consent.expiresAt) return ConsentStatus.Expired;
        return ConsentStatus.Active;
    }
  }

  /**
   * Every address whose denies apply to `grantee`: for a registered provider (any of its keys) every key the
   * provider ever had (its stable id first), so that a deny given to an address before it became a provider key,
   * or under a key since retired, is never escaped by a rotation; for anyone else, the address itself.
   */
  denyKeys(grantee: Address): Address[] {
    const provider = this.resolve(grantee);
    return provider.status === ProviderStatus.None ? [lower(grantee)] : this.keysOf(provider.id);
  }

  /** Whether a deny of `category` or of ANY_CATEGORY, under any address of {denyKeys}, applies to `grantee`. */
  deniedFor(patient: Address, grantee: Address, category: Bytes32): boolean {
    return this.denyKeys(grantee).some(
      (key) =>
        this.stored(patient, key, category).decision === Decision.Deny ||
        this.stored(patient, key, ANY_CATEGORY).decision === Decision.Deny,
    );
  }

  /**
   * IConsentRegistry.isAuthorized at time `at`: false for ANY_CATEGORY (a consent scope, never a data category) and
   * for a suspended or retired provider; any deny (category or ANY_CATEGORY, under any key the provider ever had)
   * wins; else a live permit of the current epoch covering the purpose and the action, under the provider id or the
   * presented (current) key; else an open break-glass window for ETREAT + ACCESS of an emergency-capable provider of
   * a patient who has not refused break-glass access.
   */
  isAuthorized(
    patient: Address,
    grantee: Address,
    category: Bytes32,
    purpose: number,
    action: number,
    at: bigint,
  ): boolean {
    return this.isAuthorizedForAny(patient, grantee, category, 1 << purpose, action, at);
  }

  /** IConsentRegistry.isAuthorizedForAny: {isAuthorized} for at least one purpose of the mask. */
  isAuthorizedForAny(
    patient: Address,
    grantee: Address,
    category: Bytes32,
    purposes: number,
    action: number,
    at: bigint,
  ): boolean {
    return this.authorization(patient, grantee, category, at)(purposes, action);
  }

  /**
   * {isAuthorizedForAny} of one (patient, grantee, category) at `at`, for any purposes and action: the consents,
   * the provider entry and the window are read once (the observation asks 50 questions of each key).
   */
  authorization(
    patient: Address,
    grantee: Address,
    category: Bytes32,
    at: bigint,
  ): (purposes: number, action: number) => boolean {
    const never = () => false;
    const provider = this.resolve(grantee);
    if (provider.status === ProviderStatus.Suspended || provider.status === ProviderStatus.Retired) return never;
    if (lower(category) === ANY_CATEGORY) return never;
    if (this.deniedFor(patient, grantee, category)) return never;
    const keys = provider.id === lower(grantee) ? [provider.id] : [provider.id, lower(grantee)];
    const permits: { purposes: number; actions: number }[] = [];
    for (const key of keys) {
      for (const c of [lower(category), ANY_CATEGORY]) {
        const consent = this.stored(patient, key, c);
        if (this.statusOf(patient, consent, at) === ConsentStatus.Active) permits.push(consent);
      }
    }
    const emergency =
      (provider.capabilities & CAPABILITY_EMERGENCY) !== 0 &&
      this.emergencyAccessAllowed(patient) &&
      at < this.emergencyAccessExpiry(patient, grantee);
    return (purposes, action) =>
      permits.some((p) => (p.purposes & purposes) !== 0 && (p.actions & (1 << action)) !== 0) ||
      (emergency && (purposes & (1 << ETREAT)) !== 0 && action === ACCESS);
  }

  /** Every consent slot written for `patient` (key, category, consent), in the order they were first written. */
  storedKeys(patient: Address): { key: Address; category: Bytes32; consent: StoredConsent }[] {
    const prefix = `${lower(patient)}|`;
    return [...this.consents.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, consent]) => {
        const [, key, category] = k.split("|");
        return { key, category, consent: { ...consent } };
      });
  }

  /** Every delegate `owner` appointed and did not remove (live or expired), in appointment order. */
  delegatesOf(owner: Address): Address[] {
    const prefix = `${lower(owner)}|`;
    return [...this.delegates.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  /** The ids of every anchored record, in anchoring order. */
  anchoredRecords(): Bytes32[] {
    return [...this.records.keys()];
  }

  recordOf(recordId: Bytes32): RecordEntry {
    return { ...(this.records.get(lower(recordId)) ?? EMPTY_RECORD) };
  }

  /** The ids of every anchored batch, in anchoring order. */
  anchoredBatches(): bigint[] {
    return [...this.batches.keys()].map((k) => BigInt(k));
  }

  batchOf(batchId: bigint): BatchEntry {
    return { ...(this.batches.get(batchId.toString()) ?? EMPTY_BATCH) };
  }

  isBatchItemRetracted(batchId: bigint, patient: Address, category: Bytes32, contentHash: Bytes32): boolean {
    return this.retractedItems.has(`${batchId}|${batchLeafOf(patient, category, contentHash)}`);
  }

  /** verifyBatchItem with a correct proof (`inTree`: whether the item is a leaf of the batch's root). */
  verifyBatchItem(
    batchId: bigint,
    inTree: boolean,
    patient: Address,
    category: Bytes32,
    contentHash: Bytes32,
  ): boolean {
    return (
      this.batches.has(batchId.toString()) &&
      inTree &&
      !this.isBatchItemRetracted(batchId, patient, category, contentHash)
    );
  }

  /** Every future time at which some view may change: notBefore, expiresAt, delegate terms, windows. */
  boundaries(): bigint[] {
    const times = new Set<bigint>();
    for (const c of this.consents.values()) {
      if (c.decision === Decision.Permit) {
        times.add(c.notBefore);
        times.add(c.expiresAt);
      }
    }
    for (const t of this.delegates.values()) times.add(t);
    for (const w of this.windows.values()) times.add(w.expiresAt);
    return [...times].filter((t) => t > this.now).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Consents
  // -------------------------------------------------------------------------------------------------------------

  grant(sender: Address, args: GrantArgs, at: bigint): Outcome {
    return this._grant(lower(sender), args, at);
  }

  grantFor(sender: Address, patient: Address, args: GrantArgs, at: bigint): Outcome {
    const delegated = this.checkDelegateFor(sender, patient, args.grantee, at);
    if (!delegated.ok) return delegated;
    return this._grant(lower(patient), args, at);
  }

  /**
   * grantWithSig: DenyInForce while a deny that would block the grant is in force (exact key, ANY_CATEGORY, under the
   * provider's id or any key it ever had), storing nothing; SignatureExpired after the deadline, InvalidSignature for
   * any other mismatch (the nonce is the key's, as signed); then {grant}.
   */
  grantWithSig(patient: Address, args: GrantArgs, deadline: bigint, signature: SignatureFacts, at: bigint): Outcome {
    if (this.deniedFor(patient, args.grantee, args.category)) {
      return fail("DenyInForce", lower(patient), lower(args.grantee), lower(args.category));
    }
    const checked = this.checkSignature(patient, args.grantee, args.category, deadline, signature, at);
    if (!checked.ok) return checked;
    return this._grant(lower(patient), args, at);
  }

  revoke(sender: Address, grantee: Address, category: Bytes32): Outcome {
    return this._revoke(lower(sender), grantee, category);
  }

  revokeFor(sender: Address, patient: Address, grantee: Address, category: Bytes32, at: bigint): Outcome {
    const delegated = this.checkDelegateFor(sender, patient, grantee, at);
    if (!delegated.ok) return delegated;
    return this._revoke(lower(patient), grantee, category);
  }

  /**
   * revokeWithSig: withdraws a permit only (DenyInForce on a deny); the nonce of the key as signed is used up even
   * when the permit withdrawn was kept under the provider's id.
   */
  revokeWithSig(
    patient: Address,
    grantee: Address,
    category: Bytes32,
    deadline: bigint,
    signature: SignatureFacts,
    at: bigint,
  ): Outcome {
    const found = this.revocable(lower(patient), grantee, category);
    if (!found.ok) return found;
    if (found.consent?.decision === Decision.Deny) {
      return fail("DenyInForce", lower(patient), lower(grantee), lower(category));
    }
    const checked = this.checkSignature(patient, grantee, category, deadline, signature, at);
    if (!checked.ok) return checked;
    const sequence = this.stored(patient, grantee, category).sequence;
    const outcome = this._revoke(lower(patient), grantee, category);
    if (outcome.ok && this.stored(patient, grantee, category).sequence === sequence) {
      this.consents.set(key3(patient, grantee, category), {
        ...this.stored(patient, grantee, category),
        sequence: sequence + 1,
      });
    }
    return outcome;
  }

  deny(sender: Address, grantee: Address, category: Bytes32, at: bigint): Outcome {
    return this._deny(lower(sender), grantee, category, at);
  }

  denyFor(sender: Address, patient: Address, grantee: Address, category: Bytes32, at: bigint): Outcome {
    const delegated = this.checkDelegateFor(sender, patient, grantee, at);
    if (!delegated.ok) return delegated;
    return this._deny(lower(patient), grantee, category, at);
  }

  /** Ends every permit given so far (a new epoch; denies stay) and cancels every unsubmitted signature. */
  revokeAll(sender: Address): Outcome {
    this.epochs.set(lower(sender), this.epochOf(sender) + 1);
    return this.cancelSignatures(sender);
  }

  revokeAllFor(sender: Address, patient: Address, at: bigint): Outcome {
    if (!this.isDelegate(patient, sender, at)) return fail("NotDelegate", lower(patient), lower(sender));
    return this.revokeAll(patient);
  }

  /** Cancels every unsubmitted signature of the sender: a new signature epoch (the high half of every nonce). */
  cancelSignatures(sender: Address): Outcome {
    this.signatureEpochs.set(lower(sender), this.signatureEpochOf(sender) + 1);
    return OK;
  }

  cancelSignaturesFor(sender: Address, patient: Address, at: bigint): Outcome {
    if (!this.isDelegate(patient, sender, at)) return fail("NotDelegate", lower(patient), lower(sender));
    return this.cancelSignatures(patient);
  }

  /**
   * A live delegate of `patient` acting on someone else's consent: a delegate never deals with itself, nor with
   * another key (current or retired) of its own provider.
   */
  private checkDelegateFor(sender: Address, patient: Address, grantee: Address, at: bigint): Outcome {
    if (!this.isDelegate(patient, sender, at)) return fail("NotDelegate", lower(patient), lower(sender));
    if (lower(grantee) === lower(sender) || this.resolve(grantee).id === this.resolve(sender).id) {
      return fail("DelegateIsGrantee", lower(sender));
    }
    return OK;
  }

  private checkSignature(
    patient: Address,
    grantee: Address,
    category: Bytes32,
    deadline: bigint,
    signature: SignatureFacts,
    at: bigint,
  ): Outcome {
    if (at > deadline) return fail("SignatureExpired", deadline);
    const valid =
      lower(patient) !== ZERO_ADDRESS &&
      signature.signer !== undefined &&
      lower(signature.signer) === lower(patient) &&
      signature.domainOk &&
      signature.matches &&
      signature.nonce === this.signatureNonce(patient, grantee, category);
    return valid ? OK : fail("InvalidSignature");
  }

  private checkKey(patient: Address, grantee: Address, category: Bytes32): Outcome {
    if (lower(grantee) === ZERO_ADDRESS) return fail("ZeroGrantee");
    if (lower(grantee) === patient) return fail("GranteeIsPatient", patient);
    if (lower(category) === ZERO_BYTES32) return fail("ZeroCategory");
    return OK;
  }

  /**
   * Every grant: permits are stored under the grantee as given, stamped with the patient's epoch; the key's sequence
   * moves on. Granting a provider a consent lifts the patient's closing of its break-glass window.
   */
  private _grant(patient: Address, args: GrantArgs, at: bigint): Outcome {
    const key = this.checkKey(patient, args.grantee, args.category);
    if (!key.ok) return key;
    if (args.purposes === 0 || (args.purposes & ~ALL_PURPOSES) !== 0) return fail("InvalidPurposes", args.purposes);
    if (args.actions === 0 || (args.actions & ~ALL_ACTIONS) !== 0) return fail("InvalidActions", args.actions);
    const start = args.notBefore === 0n ? at : args.notBefore;
    if (args.expiresAt <= start) return fail("InvalidPeriod", start, args.expiresAt);
    if (args.expiresAt <= at) return fail("ExpiryNotInFuture", args.expiresAt, at);
    this.consents.set(key3(patient, args.grantee, args.category), {
      purposes: args.purposes,
      actions: args.actions,
      notBefore: start,
      expiresAt: args.expiresAt,
      issuedAt: at,
      epoch: this.epochOf(patient),
      decision: Decision.Permit,
      sequence: this.stored(patient, args.grantee, args.category).sequence + 1,
    });
    const window = this.liveWindow(patient, this.resolve(args.grantee).id);
    if (window) window.closed = false;
    return OK;
  }

  /** Every deny: stored under the provider's stable id; it replaces any permit and survives `revokeAll`. */
  private _deny(patient: Address, grantee: Address, category: Bytes32, at: bigint): Outcome {
    const key = this.checkKey(patient, grantee, category);
    if (!key.ok) return key;
    const id = this.resolve(grantee).id;
    this.consents.set(key3(patient, id, category), {
      ...EMPTY_CONSENT,
      issuedAt: at,
      decision: Decision.Deny,
      sequence: this.stored(patient, id, category).sequence + 1,
    });
    return OK;
  }

  /** What a revocation withdraws: the permit or deny under the key as given, else under the provider id. */
  private revocable(patient: Address, grantee: Address, category: Bytes32): Outcome & { consent?: StoredConsent } {
    for (const key of [lower(grantee), this.resolve(grantee).id]) {
      const stored = this.consents.get(key3(patient, key, category));
      if (stored && (stored.decision === Decision.Permit || stored.decision === Decision.Deny)) {
        return { ok: true, consent: stored };
      }
    }
    return fail("NothingToRevoke", patient, lower(grantee), lower(category));
  }

  /** Every revocation: {revocable} is marked Revoked (its fields stay) and its slot's sequence moves on. */
  private _revoke(patient: Address, grantee: Address, category: Bytes32): Outcome {
    const found = this.revocable(patient, grantee, category);
    if (!found.ok || !found.consent) return found;
    found.consent.decision = Decision.Revoked;
    found.consent.sequence += 1;
    return OK;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Delegates and break-glass access
  // -------------------------------------------------------------------------------------------------------------

  setDelegate(sender: Address, delegate: Address, expiresAt: bigint, at: bigint): Outcome {
    if (lower(delegate) === ZERO_ADDRESS || lower(delegate) === lower(sender))
      return fail("InvalidDelegate", lower(delegate));
    if (expiresAt <= at) return fail("ExpiryNotInFuture", expiresAt, at);
    this.delegates.set(key2(sender, delegate), expiresAt);
    return OK;
  }

  removeDelegate(sender: Address, delegate: Address): Outcome {
    if (this.delegateExpiry(sender, delegate) === 0n) return fail("DelegateNotFound", lower(sender), lower(delegate));
    this.delegates.delete(key2(sender, delegate));
    return OK;
  }

  /**
   * Allows or refuses break-glass access. Refusing starts a new emergency epoch: every window open closes for good,
   * and every window the patient closed is forgotten (so that "off, then on again" lets a provider open a new one).
   */
  setEmergencyAccess(sender: Address, allowed: boolean): Outcome {
    if (allowed) {
      this.emergencyRefused.delete(lower(sender));
    } else {
      this.emergencyRefused.add(lower(sender));
      this.emergencyEpochs.set(lower(sender), this.emergencyEpochOf(sender) + 1);
    }
    return OK;
  }

  /**
   * A live delegate; one that is (a key of) a provider whose current key has the EMERGENCY capability cannot turn
   * break-glass access on (it would re-open it to itself); turning it off is allowed.
   */
  setEmergencyAccessFor(sender: Address, patient: Address, allowed: boolean, at: bigint): Outcome {
    if (!this.isDelegate(patient, sender, at)) return fail("NotDelegate", lower(patient), lower(sender));
    if (allowed) {
      const provider = this.resolve(sender);
      if (
        provider.status !== ProviderStatus.None &&
        (this.resolve(this.currentKeyOf(provider.id)).capabilities & CAPABILITY_EMERGENCY) !== 0
      ) {
        return fail("DelegateIsGrantee", lower(sender));
      }
    }
    return this.setEmergencyAccess(patient, allowed);
  }

  /**
   * Opens a 24-hour window: only an active provider with the emergency capability; refused when the patient refused
   * break-glass access, denied the provider ANY_CATEGORY (under any of its keys), or closed its window in this
   * emergency epoch; never renewed while open.
   */
  emergencyAccess(sender: Address, patient: Address, at: bigint): Outcome {
    const provider = this.resolve(sender);
    if (provider.status !== ProviderStatus.Active || (provider.capabilities & CAPABILITY_EMERGENCY) === 0) {
      return fail("NotEmergencyProvider", lower(sender));
    }
    if (
      lower(patient) === lower(sender) ||
      !this.emergencyAccessAllowed(patient) ||
      this.deniedFor(patient, sender, ANY_CATEGORY)
    ) {
      return fail("EmergencyAccessRefused", lower(patient), lower(sender));
    }
    const window = this.liveWindow(patient, provider.id);
    if (window?.closed) return fail("EmergencyAccessRefused", lower(patient), lower(sender));
    if (window && at < window.expiresAt) {
      return fail("EmergencyAccessAlreadyOpen", lower(patient), lower(sender), window.expiresAt);
    }
    this.windows.set(key2(patient, provider.id), {
      expiresAt: at + EMERGENCY_WINDOW,
      emergencyEpoch: this.emergencyEpochOf(patient),
      closed: false,
    });
    return OK;
  }

  closeEmergencyAccess(sender: Address, provider: Address, at: bigint): Outcome {
    return this._close(lower(sender), provider, at);
  }

  closeEmergencyAccessFor(sender: Address, patient: Address, provider: Address, at: bigint): Outcome {
    if (!this.isDelegate(patient, sender, at)) return fail("NotDelegate", lower(patient), lower(sender));
    return this._close(lower(patient), provider, at);
  }

  /** Ends the provider's open window now; it cannot open another until break-glass goes off and on, or a grant. */
  private _close(patient: Address, provider: Address, at: bigint): Outcome {
    if (this.emergencyAccessExpiry(patient, provider) <= at) return fail("NoEmergencyAccess", patient, lower(provider));
    this.windows.set(key2(patient, this.resolve(provider).id), {
      expiresAt: 0n,
      emergencyEpoch: this.emergencyEpochOf(patient),
      closed: true,
    });
    return OK;
  }

  /** recordAccess: only when {isAuthorized} holds for the sender now (never for ANY_CATEGORY); writes nothing. */
  recordAccess(
    sender: Address,
    patient: Address,
    category: Bytes32,
    purpose: number,
    action: number,
    at: bigint,
  ): Outcome {
    if (!this.isAuthorized(patient, sender, category, purpose, action, at)) {
      return fail("NotAuthorized", lower(patient), lower(sender), lower(category), purpose, action);
    }
    return OK;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Provider registry
  // -------------------------------------------------------------------------------------------------------------

  private current(provider: Address): Outcome & { entry?: ProviderEntry } {
    const entry = this.providers.get(lower(provider));
    if (!entry) return fail("UnknownProvider", lower(provider));
    if (entry.status === ProviderStatus.Retired) return fail("KeyRetired", lower(provider));
    return { ok: true, entry };
  }

  suspend(sender: Address, provider: Address): Outcome {
    if (!this.registrars.has(lower(sender)))
      return fail("AccessControlUnauthorizedAccount", lower(sender), REGISTRAR_ROLE);
    const found = this.current(provider);
    if (!found.ok || !found.entry) return found;
    if (found.entry.status === ProviderStatus.Suspended) return fail("AlreadySuspended", lower(provider));
    found.entry.status = ProviderStatus.Suspended;
    this.proposed.delete(found.entry.id); // a suspension withdraws a pending proposal
    return OK;
  }

  reinstate(sender: Address, provider: Address): Outcome {
    if (!this.registrars.has(lower(sender)))
      return fail("AccessControlUnauthorizedAccount", lower(sender), REGISTRAR_ROLE);
    const found = this.current(provider);
    if (!found.ok || !found.entry) return found;
    if (found.entry.status !== ProviderStatus.Suspended) return fail("NotSuspended", lower(provider));
    found.entry.status = ProviderStatus.Active;
    return OK;
  }

  /**
   * Step one of a rotation: an active provider, on its current key, proposes `newAddress` (never registered) as its
   * next key; nothing else moves. Proposing the zero address withdraws the proposal.
   */
  rotateKey(sender: Address, newAddress: Address): Outcome {
    const found = this.current(sender);
    if (!found.ok || !found.entry) return found;
    if (found.entry.status !== ProviderStatus.Active) return fail("ProviderNotActive", lower(sender));
    if (this.providers.has(lower(newAddress))) return fail("AlreadyRegistered", lower(newAddress));
    if (lower(newAddress) === ZERO_ADDRESS) this.proposed.delete(found.entry.id);
    else this.proposed.set(found.entry.id, lower(newAddress));
    return OK;
  }

  /**
   * Step two: the proposed key accepts. It becomes the provider's current key (same id, status and capabilities),
   * and the previous key is retired for good.
   */
  acceptKey(sender: Address, id: Address): Outcome {
    if (this.proposedKeyOf(id) !== lower(sender)) return fail("KeyNotProposed", lower(id), lower(sender));
    const oldKey = this.currentKeyOf(id);
    const entry = this.providers.get(oldKey);
    // A proposal exists only from an active provider (a suspension withdraws it): the contract does not check again.
    if (!entry) throw new Error(`model: a proposal for ${id} without a current key`);
    if (this.providers.has(lower(sender))) return fail("AlreadyRegistered", lower(sender));
    this.proposed.delete(lower(id));
    this.providers.set(lower(sender), { ...entry });
    entry.status = ProviderStatus.Retired;
    this.keys.get(lower(id))?.push(lower(sender));
    return OK;
  }

  setCapabilities(sender: Address, provider: Address, capabilities: number): Outcome {
    if (!this.registrars.has(lower(sender)))
      return fail("AccessControlUnauthorizedAccount", lower(sender), REGISTRAR_ROLE);
    if (capabilities === 0) return fail("EmptyCapabilities");
    if ((capabilities & ~ALL_CAPABILITIES) !== 0) return fail("UnknownCapabilities", capabilities);
    const found = this.current(provider);
    if (!found.ok || !found.entry) return found;
    found.entry.capabilities = capabilities;
    return OK;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Records
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Anchors a record: the patient, a live delegate, or a grantee authorised now to COLLECT the category for some
   * purpose; ANY_CATEGORY is not a data category. The id is keccak256(abi.encode(patient, contentHash));
   * `supersedes` must be an Active record of the same patient and category that the sender may amend, which becomes
   * Superseded. Returns the record id.
   */
  anchor(
    sender: Address,
    patient: Address,
    category: Bytes32,
    contentHash: Bytes32,
    supersedes: Bytes32,
    uriLength: number,
    at: bigint,
  ): Outcome {
    if (lower(category) === ZERO_BYTES32) return fail("ZeroCategory");
    if (lower(category) === ANY_CATEGORY) return fail("NotADataCategory", lower(category));
    if (lower(contentHash) === ZERO_BYTES32) return fail("ZeroContentHash");
    if (uriLength > MAX_URI_LENGTH) return fail("UriTooLong", BigInt(uriLength), BigInt(MAX_URI_LENGTH));
    if (
      lower(sender) !== lower(patient) &&
      !this.isDelegate(patient, sender, at) &&
      !this.isAuthorizedForAny(patient, sender, category, ALL_PURPOSES, COLLECT, at)
    ) {
      return fail("NotAuthorizedWriter", lower(patient), lower(sender), lower(category));
    }
    const id = recordIdOf(patient, contentHash);
    if (this.records.has(id)) return fail("AlreadyAnchored", id);
    if (lower(supersedes) !== ZERO_BYTES32) {
      const previous = this.records.get(lower(supersedes));
      if (!previous) return fail("UnknownRecord", lower(supersedes));
      if (previous.patient !== lower(patient)) return fail("ForeignRecord", lower(supersedes));
      if (previous.status === RecordStatus.Retracted) return fail("SupersedesRetracted", lower(supersedes));
      if (previous.status === RecordStatus.Superseded) {
        return fail("AlreadySuperseded", lower(supersedes), previous.supersededBy);
      }
      if (previous.category !== lower(category)) return fail("CategoryMismatch", lower(supersedes), previous.category);
      if (!this.mayAmend(previous, sender, at))
        return fail("NotAuthorizedSuperseder", lower(supersedes), lower(sender));
      previous.status = RecordStatus.Superseded;
      previous.supersededBy = id;
    }
    this.records.set(id, {
      patient: lower(patient),
      anchoredAt: at,
      status: RecordStatus.Active,
      category: lower(category),
      anchoredBy: lower(sender),
      supersededBy: ZERO_BYTES32,
    });
    return { ok: true, value: id };
  }

  /**
   * Who may retract or supersede a record: its patient; a live delegate; or the account that anchored it (for a
   * provider, any of its keys) only while it may still write the record's category for the patient: a live COLLECT
   * permit, no deny, and for a provider a current, active key.
   */
  private mayAmend(record: RecordEntry, sender: Address, at: bigint): boolean {
    if (lower(sender) === record.patient || this.isDelegate(record.patient, sender, at)) return true;
    if (record.anchoredBy === record.patient) return false;
    if (lower(sender) !== record.anchoredBy && this.resolve(sender).id !== this.resolve(record.anchoredBy).id) {
      return false;
    }
    return this.isAuthorizedForAny(record.patient, sender, record.category, ALL_PURPOSES, COLLECT, at);
  }

  /** Retracts a record: see {mayAmend}. Status only moves forward. */
  retract(sender: Address, recordId: Bytes32, at: bigint): Outcome {
    const record = this.records.get(lower(recordId));
    if (!record) return fail("UnknownRecord", lower(recordId));
    if (record.status === RecordStatus.Retracted) return fail("AlreadyRetracted", lower(recordId));
    if (!this.mayAmend(record, sender, at)) return fail("NotAuthorizedRetractor", lower(recordId), lower(sender));
    record.status = RecordStatus.Retracted;
    return OK;
  }

  /** Anchors a Merkle root: only an active registered provider; the id is the submitter's and the root's. */
  anchorBatch(sender: Address, root: Bytes32, count: number, uriLength: number, at: bigint): Outcome {
    if (lower(root) === ZERO_BYTES32) return fail("ZeroRoot");
    if (count === 0) return fail("EmptyBatch");
    if (uriLength > MAX_URI_LENGTH) return fail("UriTooLong", BigInt(uriLength), BigInt(MAX_URI_LENGTH));
    if (this.resolve(sender).status !== ProviderStatus.Active) return fail("NotActiveProvider", lower(sender));
    const batchId = batchIdOf(sender, root);
    if (this.batches.has(batchId.toString())) return fail("BatchAlreadyAnchored", batchId);
    this.batches.set(batchId.toString(), { root: lower(root), submitter: lower(sender), count, anchoredAt: at });
    return { ok: true, value: batchId.toString() };
  }

  /** Retracts one item of a batch: only the patient it names or a live delegate of the patient. */
  retractBatchItem(
    sender: Address,
    batchId: bigint,
    patient: Address,
    category: Bytes32,
    contentHash: Bytes32,
    at: bigint,
  ): Outcome {
    if (lower(sender) !== lower(patient) && !this.isDelegate(patient, sender, at)) {
      return fail("NotAuthorizedBatchRetractor", lower(patient), lower(sender));
    }
    if (!this.batches.has(batchId.toString())) return fail("UnknownBatch", batchId);
    const leaf = batchLeafOf(patient, category, contentHash);
    if (this.retractedItems.has(`${batchId}|${leaf}`)) return fail("BatchItemAlreadyRetracted", batchId, leaf);
    this.retractedItems.add(`${batchId}|${leaf}`);
    return OK;
  }
}
