/**
 * The reference model of the three registries, written from their SPECIFICATION (the NatSpec of
 * contracts/interfaces/*.sol, contracts/ConsentCodes.sol and the design facts of the team brief), not from the
 * contracts' code. It is a plain in-memory state machine: every operation takes the sender and the timestamp of the
 * block it executes in, and either succeeds (changing the state) or names the custom error the specification says
 * it must revert with, changing nothing (a revert rolls everything back).
 *
 * The model-based property tests (consent.model.test.ts) run random operation sequences against both the model and
 * the real contracts and require them to agree on every outcome and on every view after every step.
 *
 * Readings of the specification that are not spelled out word for word (documented in docs/testing.md):
 * - a stored permit or deny stays revocable after it expired or after `revokeAll` (it is still "a permit");
 * - checks run in the order the NatSpec lists them: access control, then the arguments, then the state;
 * - `uint40` times: every time in this model stays far below 2^40, so no truncation arises.
 */
import { AbiCoder, id, keccak256 } from "ethers";

import { ConsentStatus, Decision, ProviderStatus, RecordStatus } from "../../src/codes";

/** FUZZ_STRICT_SPEC=1: follow the NatSpec of consentOf word for word (see {ConsentModel.consentOf}). */
const STRICT_SPEC = process.env.FUZZ_STRICT_SPEC === "1";

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
}

export const EMPTY_CONSENT: Readonly<StoredConsent> = Object.freeze({
  purposes: 0,
  actions: 0,
  notBefore: 0n,
  expiresAt: 0n,
  issuedAt: 0n,
  epoch: 0,
  decision: Decision.None,
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
 * `signer` is the account whose key made it (undefined for garbage bytes); `domainOk` says whether it was made for
 * this chain and this registry; `matches` whether it covers exactly the message submitted (patient, body, deadline).
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

const lower = (value: string): string => value.toLowerCase();
const key2 = (a: string, b: string): string => `${lower(a)}|${lower(b)}`;
const key3 = (a: string, b: string, c: string): string => `${lower(a)}|${lower(b)}|${lower(c)}`;

/** `keccak256(abi.encode(patient, contentHash))`, the id of a record (IRecordRegistry.anchor). */
export function recordIdOf(patient: Address, contentHash: Bytes32): Bytes32 {
  return lower(keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [patient, contentHash])));
}

/** The reference model of ProviderRegistry + ConsentRegistry + RecordRegistry. */
export class ConsentModel {
  /** The timestamp of the latest block. */
  now: bigint;

  private readonly consents = new Map<string, StoredConsent>();
  private readonly epochs = new Map<Address, number>();
  private readonly emergencyRefused = new Set<Address>();
  private readonly delegates = new Map<string, bigint>();
  private readonly windows = new Map<string, bigint>();
  private readonly nonceOf = new Map<Address, bigint>();
  private readonly providers = new Map<Address, ProviderEntry>();
  private readonly registrars = new Set<Address>();
  private readonly records = new Map<Bytes32, RecordEntry>();

  constructor(init: { now: bigint; registrars: Address[]; providers: { address: Address; capabilities: number }[] }) {
    this.now = init.now;
    for (const registrar of init.registrars) this.registrars.add(lower(registrar));
    for (const { address, capabilities } of init.providers) {
      this.providers.set(lower(address), { id: lower(address), status: ProviderStatus.Active, capabilities });
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

  epochOf(patient: Address): number {
    return this.epochs.get(lower(patient)) ?? 0;
  }

  nonces(account: Address): bigint {
    return this.nonceOf.get(lower(account)) ?? 0n;
  }

  emergencyAccessAllowed(patient: Address): boolean {
    return !this.emergencyRefused.has(lower(patient));
  }

  /** The end of `provider`'s break-glass window on `patient` (0, or a past time, when none is open; 0 once the patient refused break-glass access after it opened). */
  emergencyAccessExpiry(patient: Address, provider: Address): bigint {
    return this.windows.get(key2(patient, this.resolve(provider).id)) ?? 0n;
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
   * IConsentRegistry.consentOf: the consent stored for the key, and its status at `at`.
   *
   * Known deviation (reported): the NatSpec says consentOf "does not consider the provider registry: it reports the
   * key", but the implementation, and the SDK's `fhirConsent` that relies on it, read the consent kept under the
   * provider's stable id when nothing is stored under a rotated key. The model follows the implementation unless
   * FUZZ_STRICT_SPEC=1, which makes it follow the NatSpec word for word (and fails on the first key rotation).
   */
  consentOf(
    patient: Address,
    grantee: Address,
    category: Bytes32,
    at: bigint,
  ): { consent: StoredConsent; status: ConsentStatus } {
    let consent = this.stored(patient, grantee, category);
    if (consent.decision === Decision.None && !STRICT_SPEC) {
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
   * IConsentRegistry.isAuthorized at time `at`: false for a suspended or retired provider; any deny (category or
   * ANY_CATEGORY, under the provider id or the presented key) wins; else a live permit of the current epoch covering
   * the purpose and the action; else an open break-glass window for ETREAT + ACCESS of an emergency-capable provider
   * of a patient who has not refused break-glass access.
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
    const provider = this.resolve(grantee);
    if (provider.status === ProviderStatus.Suspended || provider.status === ProviderStatus.Retired) return false;
    const keys = provider.id === lower(grantee) ? [provider.id] : [provider.id, lower(grantee)];
    const categories = lower(category) === ANY_CATEGORY ? [ANY_CATEGORY] : [lower(category), ANY_CATEGORY];
    let permitted = false;
    for (const key of keys) {
      for (const c of categories) {
        const consent = this.stored(patient, key, c);
        if (consent.decision === Decision.Deny) return false;
        if (
          this.statusOf(patient, consent, at) === ConsentStatus.Active &&
          (consent.purposes & purposes) !== 0 &&
          (consent.actions & (1 << action)) !== 0
        ) {
          permitted = true;
        }
      }
    }
    if (permitted) return true;
    return (
      (purposes & (1 << ETREAT)) !== 0 &&
      action === ACCESS &&
      (provider.capabilities & CAPABILITY_EMERGENCY) !== 0 &&
      this.emergencyAccessAllowed(patient) &&
      at < (this.windows.get(key2(patient, provider.id)) ?? 0n)
    );
  }

  /** Every consent stored for `patient` (key, category, consent), in the order they were first written. */
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
    for (const t of this.windows.values()) times.add(t);
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

  /** grantWithSig: SignatureExpired after the deadline, InvalidSignature for any other mismatch, then {grant}. */
  grantWithSig(patient: Address, args: GrantArgs, deadline: bigint, signature: SignatureFacts, at: bigint): Outcome {
    const checked = this.checkSignature(patient, deadline, signature, at);
    if (!checked.ok) return checked;
    // A signed grant never lifts a deny kept under the key it names: it may have been signed before the deny.
    if (this.consents.get(key3(patient, args.grantee, args.category))?.decision === Decision.Deny) {
      return fail("DenyInForce", lower(patient), lower(args.grantee), lower(args.category));
    }
    const outcome = this._grant(lower(patient), args, at);
    if (outcome.ok) this.useNonceOf(patient);
    return outcome;
  }

  revoke(sender: Address, grantee: Address, category: Bytes32): Outcome {
    return this._revoke(lower(sender), grantee, category);
  }

  revokeFor(sender: Address, patient: Address, grantee: Address, category: Bytes32, at: bigint): Outcome {
    const delegated = this.checkDelegateFor(sender, patient, grantee, at);
    if (!delegated.ok) return delegated;
    return this._revoke(lower(patient), grantee, category);
  }

  revokeWithSig(
    patient: Address,
    grantee: Address,
    category: Bytes32,
    deadline: bigint,
    signature: SignatureFacts,
    at: bigint,
  ): Outcome {
    const checked = this.checkSignature(patient, deadline, signature, at);
    if (!checked.ok) return checked;
    const outcome = this._revoke(lower(patient), grantee, category);
    if (outcome.ok) this.useNonceOf(patient);
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

  /** Ends every permit given so far by moving the sender to a new epoch; denies stay. */
  revokeAll(sender: Address): Outcome {
    this.epochs.set(lower(sender), this.epochOf(sender) + 1);
    return OK;
  }

  /** Consumes the sender's next nonce; returns it. */
  useNonce(sender: Address): Outcome {
    return { ok: true, value: this.useNonceOf(sender).toString() };
  }

  private useNonceOf(account: Address): bigint {
    const nonce = this.nonces(account);
    this.nonceOf.set(lower(account), nonce + 1n);
    return nonce;
  }

  /** A live delegate of `patient` acting on someone else's consent: a delegate never deals with itself. */
  private checkDelegateFor(sender: Address, patient: Address, grantee: Address, at: bigint): Outcome {
    if (!this.isDelegate(patient, sender, at)) return fail("NotDelegate", lower(patient), lower(sender));
    if (lower(grantee) === lower(sender)) return fail("DelegateIsGrantee", lower(sender));
    return OK;
  }

  private checkSignature(patient: Address, deadline: bigint, signature: SignatureFacts, at: bigint): Outcome {
    if (at > deadline) return fail("SignatureExpired", deadline);
    const valid =
      lower(patient) !== ZERO_ADDRESS &&
      signature.signer !== undefined &&
      lower(signature.signer) === lower(patient) &&
      signature.domainOk &&
      signature.matches &&
      signature.nonce === this.nonces(patient);
    return valid ? OK : fail("InvalidSignature");
  }

  private checkKey(patient: Address, grantee: Address, category: Bytes32): Outcome {
    if (lower(grantee) === ZERO_ADDRESS) return fail("ZeroGrantee");
    if (lower(grantee) === patient) return fail("GranteeIsPatient", patient);
    if (lower(category) === ZERO_BYTES32) return fail("ZeroCategory");
    return OK;
  }

  /** Every grant: permits are stored under the grantee as given, stamped with the patient's epoch. */
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
    });
    return OK;
  }

  /** Every deny: stored under the provider's stable id; it replaces any permit and survives `revokeAll`. */
  private _deny(patient: Address, grantee: Address, category: Bytes32, at: bigint): Outcome {
    const key = this.checkKey(patient, grantee, category);
    if (!key.ok) return key;
    this.consents.set(key3(patient, this.resolve(grantee).id, category), {
      ...EMPTY_CONSENT,
      issuedAt: at,
      decision: Decision.Deny,
    });
    return OK;
  }

  /** Every revocation: the permit or deny under the key as given, else under the provider id; fields stay. */
  private _revoke(patient: Address, grantee: Address, category: Bytes32): Outcome {
    for (const key of [lower(grantee), this.resolve(grantee).id]) {
      const stored = this.consents.get(key3(patient, key, category));
      if (stored && (stored.decision === Decision.Permit || stored.decision === Decision.Deny)) {
        stored.decision = Decision.Revoked;
        return OK;
      }
    }
    return fail("NothingToRevoke", patient, lower(grantee), lower(category));
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

  /** Allows or refuses break-glass access; refusing closes every window already open, for good. */
  setEmergencyAccess(sender: Address, allowed: boolean): Outcome {
    if (allowed) {
      this.emergencyRefused.delete(lower(sender));
    } else {
      this.emergencyRefused.add(lower(sender));
      for (const window of [...this.windows.keys()]) {
        if (window.startsWith(`${lower(sender)}|`)) this.windows.delete(window);
      }
    }
    return OK;
  }

  setEmergencyAccessFor(sender: Address, patient: Address, allowed: boolean, at: bigint): Outcome {
    if (!this.isDelegate(patient, sender, at)) return fail("NotDelegate", lower(patient), lower(sender));
    return this.setEmergencyAccess(patient, allowed);
  }

  /** Opens a 24-hour window; only an active provider with the emergency capability, and not when refused. */
  emergencyAccess(sender: Address, patient: Address, at: bigint): Outcome {
    const provider = this.resolve(sender);
    if (provider.status !== ProviderStatus.Active || (provider.capabilities & CAPABILITY_EMERGENCY) === 0) {
      return fail("NotEmergencyProvider", lower(sender));
    }
    if (
      lower(patient) === lower(sender) ||
      !this.emergencyAccessAllowed(patient) ||
      this.stored(patient, provider.id, ANY_CATEGORY).decision === Decision.Deny
    ) {
      return fail("EmergencyAccessRefused", lower(patient), lower(sender));
    }
    this.windows.set(key2(patient, provider.id), at + EMERGENCY_WINDOW);
    return OK;
  }

  closeEmergencyAccess(sender: Address, provider: Address, at: bigint): Outcome {
    return this._close(lower(sender), provider, at);
  }

  closeEmergencyAccessFor(sender: Address, patient: Address, provider: Address, at: bigint): Outcome {
    if (!this.isDelegate(patient, sender, at)) return fail("NotDelegate", lower(patient), lower(sender));
    return this._close(lower(patient), provider, at);
  }

  private _close(patient: Address, provider: Address, at: bigint): Outcome {
    const window = key2(patient, this.resolve(provider).id);
    if ((this.windows.get(window) ?? 0n) <= at) return fail("NoEmergencyAccess", patient, lower(provider));
    this.windows.delete(window);
    return OK;
  }

  /** recordAccess: only when {isAuthorized} holds for the sender now; writes nothing. */
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
  // Provider registry (registrars only)
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
   * Moves the sender's registration to `newAddress`: only an active provider on its current key; the new address
   * must never have been registered. The new key carries the same stable id; the old one is retired for good.
   */
  rotateKey(sender: Address, newAddress: Address): Outcome {
    const found = this.current(sender);
    if (!found.ok || !found.entry) return found;
    if (found.entry.status !== ProviderStatus.Active) return fail("ProviderNotActive", lower(sender));
    if (lower(newAddress) === ZERO_ADDRESS) return fail("ZeroAddress");
    if (this.providers.has(lower(newAddress))) return fail("AlreadyRegistered", lower(newAddress));
    this.providers.set(lower(newAddress), { ...found.entry });
    found.entry.status = ProviderStatus.Retired;
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
   * purpose. The id is keccak256(abi.encode(patient, contentHash)); `supersedes` must be an Active record of the same
   * patient, which becomes Superseded. Returns the record id.
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
   * Who may retract or supersede a record: its patient, a live delegate, or the provider that anchored it from a key
   * that is neither suspended nor retired (its current key after a rotation).
   */
  private mayAmend(record: RecordEntry, sender: Address, at: bigint): boolean {
    if (lower(sender) === record.patient) return true;
    const caller = this.resolve(sender);
    if (caller.status === ProviderStatus.None || caller.status === ProviderStatus.Active) {
      if (lower(sender) === record.anchoredBy || this.resolve(record.anchoredBy).id === caller.id) return true;
    }
    return this.isDelegate(record.patient, sender, at);
  }

  /** Retracts a record: the patient, a live delegate, or the provider that anchored it. Status only moves forward. */
  retract(sender: Address, recordId: Bytes32, at: bigint): Outcome {
    const record = this.records.get(lower(recordId));
    if (!record) return fail("UnknownRecord", lower(recordId));
    if (record.status === RecordStatus.Retracted) return fail("AlreadyRetracted", lower(recordId));
    if (!this.mayAmend(record, sender, at)) return fail("NotAuthorizedRetractor", lower(recordId), lower(sender));
    record.status = RecordStatus.Retracted;
    return OK;
  }
}
