/**
 * Turns what a failed call throws into one readable sentence: the custom errors of the three registries (and of the
 * OpenZeppelin code they use), `Error(string)` and `Panic(uint256)`, whether the error comes from ethers v6, from
 * Hardhat's in-process network or from a JSON-RPC node.
 */
import {
  AbiCoder,
  ErrorFragment,
  Interface,
  ZeroHash,
  dataSlice,
  getAddress,
  id,
  isHexString,
  type Result,
} from "ethers";

import {
  ConsentRegistry__factory,
  ECDSA__factory,
  ProviderRegistry__factory,
  RecordRegistry__factory,
} from "../typechain-types";
import { Action, Purpose, actionsOf, categoryCode, purposesOf } from "./codes";

/** What {decodeError} makes of an error. */
export interface DecodedError {
  /** The custom error's name ("NothingToRevoke"), "Error" for a revert reason, "Panic", or "Unknown". */
  name: string;
  /** The error's arguments as decoded (addresses checksummed, integers as bigint). */
  args: unknown[];
  /** One sentence for a person. For an unknown error, the original message. */
  message: string;
  /** Whether the revert data was recognised. */
  decoded: boolean;
  /** The revert data found in the error, if any. */
  data?: string;
}

/** An error the SDK throws for a call a contract refused, with the refusal decoded. */
export class ConsentError extends Error {
  /** The custom error's name, such as "NothingToRevoke". */
  readonly errorName: string;
  /** Its decoded arguments. */
  readonly args: unknown[];
  /** The raw revert data. */
  readonly data?: string;

  constructor(decoded: DecodedError, options?: { cause?: unknown }) {
    super(decoded.message, options);
    this.name = "ConsentError";
    this.errorName = decoded.name;
    this.args = decoded.args;
    this.data = decoded.data;
  }
}

/** Every custom error any of the registries can revert with, by selector. */
export const REGISTRY_ERRORS: Interface = buildErrorInterface();

function buildErrorInterface(): Interface {
  const seen = new Set<string>();
  const fragments: ErrorFragment[] = [];
  const abis = [
    ConsentRegistry__factory.abi,
    ProviderRegistry__factory.abi,
    RecordRegistry__factory.abi,
    ECDSA__factory.abi,
  ];
  for (const abi of abis) {
    for (const fragment of new Interface(abi).fragments) {
      if (fragment instanceof ErrorFragment && !seen.has(fragment.selector)) {
        seen.add(fragment.selector);
        fragments.push(fragment);
      }
    }
  }
  return new Interface(fragments);
}

const ERROR_STRING_SELECTOR = "0x08c379a0";
const PANIC_SELECTOR = "0x4e487b71";

const PANIC_REASONS: Record<number, string> = {
  0x01: "an assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division or modulo by zero",
  0x21: "an invalid enum value",
  0x22: "an incorrectly encoded storage byte array",
  0x31: "pop on an empty array",
  0x32: "an array index out of bounds",
  0x41: "too much memory allocated",
  0x51: "a call to an uninitialised internal function",
};

const ROLE_NAMES: Record<string, string> = {
  [ZeroHash]: "DEFAULT_ADMIN_ROLE",
  [id("REGISTRAR_ROLE")]: "REGISTRAR_ROLE",
};

// ---------------------------------------------------------------------------------------------------------------
// Formatting of arguments
// ---------------------------------------------------------------------------------------------------------------

function address(value: unknown): string {
  return typeof value === "string" && isHexString(value, 20) ? getAddress(value) : String(value);
}

/** "category laboratory", "every category (*)", or "category 0x…" for an id with no known code. */
export function describeCategory(category: string): string {
  const code = categoryCode(category);
  if (code === "*") return "every category (*)";
  return `category ${code ?? category}`;
}

/** Unix seconds as "2025-01-01T00:00:00Z". */
function time(value: unknown): string {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 8.64e12) return String(value);
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

function purposeName(value: unknown): string {
  const name = Purpose[Number(value)];
  return name ?? `purpose #${String(value)}`;
}

function actionName(value: unknown): string {
  const name = Action[Number(value)];
  return name === undefined ? `action #${String(value)}` : name.toLowerCase();
}

function maskText(kind: "purposes" | "actions", value: unknown): string {
  const mask = Number(value);
  if (mask === 0) return `No ${kind} were given: a consent needs at least one.`;
  const known = kind === "purposes" ? purposesOf(mask).map(purposeName) : actionsOf(mask).map(actionName);
  const knownText = known.length > 0 ? ` (besides ${known.join(", ")})` : "";
  return `The ${kind} mask ${mask} has bits that name no ${kind === "purposes" ? "purpose" : "action"}${knownText}.`;
}

type Sentence = (args: unknown[]) => string;

/** One sentence per custom error. Errors without an entry get a generic sentence naming them. */
const SENTENCES: Record<string, Sentence> = {
  // ConsentRegistry
  ZeroGrantee: () => "The grantee is the zero address.",
  GranteeIsPatient: ([patient]) => `Patient ${address(patient)} cannot give a consent to themself.`,
  ZeroCategory: () => `The category is zero: use a category code, a record id, or "*" for every category.`,
  InvalidPurposes: ([mask]) => maskText("purposes", mask),
  InvalidActions: ([mask]) => maskText("actions", mask),
  InvalidPeriod: ([notBefore, expiresAt]) =>
    `The consent would end (${time(expiresAt)}) before it starts (${time(notBefore)}): the expiry must be after the start.`,
  ExpiryNotInFuture: ([expiresAt, now]) =>
    `The expiry ${time(expiresAt)} is not after the current block time ${time(now)}.`,
  NotDelegate: ([patient, caller]) =>
    `${address(caller)} is not a delegate of patient ${address(patient)} whose term is running.`,
  DelegateIsGrantee: ([delegate]) =>
    `Delegate ${address(delegate)} cannot grant, revoke or deny a consent to itself or to another key of its own ` +
    `provider, nor turn break-glass access on while it is an emergency provider: only the patient can.`,
  DenyInForce: ([patient, grantee, category]) =>
    `Patient ${address(patient)} has a deny in force against ${address(grantee)} that covers ` +
    `${describeCategory(String(category))}: a signature can neither lift a deny nor grant past it. The patient (or a ` +
    `live delegate) lifts the deny with a transaction first.`,
  NothingToRevoke: ([patient, grantee, category]) =>
    `There is no consent from ${address(patient)} to ${address(grantee)} for ${describeCategory(String(category))} to revoke.`,
  InvalidDelegate: ([delegate]) =>
    `${address(delegate)} cannot be a delegate: it is the zero address or the patient themself.`,
  DelegateNotFound: ([patient, delegate]) => `${address(delegate)} is not a delegate of patient ${address(patient)}.`,
  InvalidSignature: () =>
    "The signature is not the patient's for this exact request, nonce, chain and registry: it may be altered, signed " +
    "by someone else, already submitted, or cancelled by a later decision on the same consent, by cancelSignatures " +
    "or by revokeAll.",
  SignatureExpired: ([deadline]) => `The signature expired at ${time(deadline)}.`,
  NotEmergencyProvider: ([provider]) =>
    `${address(provider)} is not an active registered provider with the emergency capability.`,
  EmergencyAccessRefused: ([patient, provider]) =>
    `Patient ${address(patient)} has refused break-glass access, denied ${address(provider)} every category, or ` +
    `closed its last window (until break-glass is turned off and on again, or the provider is granted a consent).`,
  EmergencyAccessAlreadyOpen: ([patient, provider, expiresAt]) =>
    `${address(provider)} already has break-glass access to patient ${address(patient)} open until ` +
    `${time(expiresAt)}: a window is not renewed while open.`,
  NoEmergencyAccess: ([patient, provider]) =>
    `${address(provider)} has no break-glass access to patient ${address(patient)} open.`,
  NotAuthorized: ([patient, grantee, category, purpose, action]) =>
    `${address(grantee)} is not authorised to ${actionName(action)} ${describeCategory(String(category))} of patient ` +
    `${address(patient)} for purpose ${purposeName(purpose)} right now.`,
  // OpenZeppelin code the consent registry uses (Multicall, EIP712's ShortStrings)
  FailedCall: () => "A call inside the batch (multicall) failed without a reason.",
  AddressEmptyCode: ([target]) => `There is no contract at ${address(target)}.`,
  InvalidShortString: () => "A short string is malformed.",
  StringTooLong: ([text]) => `The string "${String(text)}" is too long for a short string.`,
  // ProviderRegistry
  ZeroAddress: () => "The zero address was given where an account is needed.",
  AlreadyRegistered: ([account]) => `${address(account)} is, or once was, a registered provider.`,
  UnknownProvider: ([account]) => `${address(account)} is not a registered provider.`,
  KeyRetired: ([account]) =>
    `${address(account)} is a key retired by a key rotation: act on the provider's current key.`,
  EmptyCapabilities: () => "The capabilities mask is empty: give at least one capability.",
  UnknownCapabilities: ([mask]) => `The capabilities mask ${String(mask)} has bits that name no capability.`,
  ProviderNotActive: ([account]) => `Provider ${address(account)} is not active (it is suspended).`,
  KeyNotProposed: ([id, caller]) =>
    `${address(caller)} is not the key provider ${address(id)} proposed: only the proposed key accepts a rotation ` +
    `(the provider proposes it first with rotateKey).`,
  AlreadySuspended: ([account]) => `Provider ${address(account)} is already suspended.`,
  NotSuspended: ([account]) => `Provider ${address(account)} is not suspended, so there is nothing to reinstate.`,
  UriTooLong: ([length, max]) => `The URI is ${String(length)} bytes long; at most ${String(max)} are accepted.`,
  AccessControlUnauthorizedAccount: ([account, role]) =>
    `${address(account)} does not hold the role ${ROLE_NAMES[String(role)] ?? String(role)} needed for this.`,
  AccessControlBadConfirmation: () => "An account can only renounce a role for itself.",
  // RecordRegistry
  NotAuthorizedWriter: ([patient, caller, category]) =>
    `${address(caller)} may not anchor records of patient ${address(patient)} in ${describeCategory(String(category))}: ` +
    "it is not the patient, a delegate, or a grantee the patient authorised to collect that category.",
  NotAuthorizedRetractor: ([recordId, caller]) =>
    `${address(caller)} may not retract record ${String(recordId)}: only the patient, a live delegate, or the ` +
    `account that anchored it while it may still collect that category for the patient (a live permit, no deny, ` +
    `and for a provider its current, active key) may.`,
  NotAuthorizedSuperseder: ([recordId, caller]) =>
    `${address(caller)} may not supersede record ${String(recordId)}: only the patient, a live delegate, or the ` +
    `account that anchored it while it may still collect that category for the patient (a live permit, no deny, ` +
    `and for a provider its current, active key) may.`,
  CategoryMismatch: ([recordId, category]) =>
    `Record ${String(recordId)} is in ${describeCategory(String(category))}: a new version must be in the same category.`,
  ZeroContentHash: () => "The content hash is zero.",
  AlreadyAnchored: ([recordId]) => `This content is already anchored for this patient as record ${String(recordId)}.`,
  UnknownRecord: ([recordId]) => `No record ${String(recordId)} was ever anchored.`,
  ForeignRecord: ([recordId]) =>
    `Record ${String(recordId)} belongs to another patient, so it cannot be superseded here.`,
  SupersedesRetracted: ([recordId]) =>
    `Record ${String(recordId)} was retracted; a retracted record cannot be superseded.`,
  AlreadySuperseded: ([recordId, by]) =>
    `Record ${String(recordId)} was already superseded by ${String(by)}; supersede the newest version.`,
  AlreadyRetracted: ([recordId]) => `Record ${String(recordId)} is already retracted.`,
  EmptyBatch: () => "A batch must hold at least one record.",
  ZeroRoot: () => "The Merkle root is zero.",
  BatchAlreadyAnchored: ([batchId]) => `This account already anchored this root as batch ${String(batchId)}.`,
  NotADataCategory: ([category]) =>
    `${categoryCode(String(category)) === "*" ? `"*" (every category)` : `The ${describeCategory(String(category))}`} ` +
    `is a scope of consents, never the category of a record: anchor under the record's own category.`,
  NotActiveProvider: ([caller]) =>
    `${address(caller)} is not an active registered provider: only active providers anchor batches.`,
  UnknownBatch: ([batchId]) => `No batch ${String(batchId)} was anchored.`,
  BatchItemAlreadyRetracted: ([batchId, leaf]) =>
    `The item ${String(leaf)} of batch ${String(batchId)} is already retracted.`,
  NotAuthorizedBatchRetractor: ([patient, caller]) =>
    `${address(caller)} may not retract a batch item of patient ${address(patient)}: only the patient or a live ` +
    `delegate of the patient may.`,
  // OpenZeppelin ECDSA
  ECDSAInvalidSignature: () => "The signature is invalid.",
  ECDSAInvalidSignatureLength: ([length]) => `The signature is ${String(length)} bytes long; 65 are expected.`,
  ECDSAInvalidSignatureS: () => "The signature's s value is not in the lower half of the curve order.",
};

/** The names of the errors {@link decodeRevertData} has a sentence for (every error of the registries' ABIs). */
export function describedErrorNames(): string[] {
  return Object.keys(SENTENCES);
}

// ---------------------------------------------------------------------------------------------------------------
// Finding revert data in an error
// ---------------------------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

const NESTED_KEYS = ["data", "error", "info", "cause", "errorData", "originalError", "body", "errorArgs"] as const;

/** Revert data candidates found anywhere the known error shapes keep them, nearest first. */
function revertDataCandidates(error: unknown): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 6 || value === undefined || value === null || seen.has(value)) return;
    if (typeof value === "string") {
      if (isHexString(value) && value.length >= 10) found.push(value.toLowerCase());
      else if (value.startsWith("{")) visit(safeJson(value), depth + 1); // a JSON-RPC body
      return;
    }
    if (!isRecord(value)) return;
    seen.add(value);
    for (const key of NESTED_KEYS) visit(value[key], depth + 1);
    if (typeof value.message === "string") {
      // Hardhat: "reverted with an unrecognized custom error (return data: 0x...)"
      const match = /return data: (0x[0-9a-fA-F]{8,})/.exec(value.message);
      if (match) found.push(match[1].toLowerCase());
    }
  };
  visit(error, 0);
  return found;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  return value;
}

function resultArgs(result: Result): unknown[] {
  return Array.from({ length: result.length }, (_, i) => {
    const value: unknown = result[i];
    if (typeof value === "string" && isHexString(value, 20)) return getAddress(value);
    return toPlain(value);
  });
}

/** Decodes revert data alone: a registry custom error, `Error(string)` or `Panic(uint256)`. */
export function decodeRevertData(data: string): DecodedError | undefined {
  if (!isHexString(data) || data.length < 10) return undefined;
  const selector = dataSlice(data, 0, 4).toLowerCase();
  try {
    if (selector === ERROR_STRING_SELECTOR) {
      const [reason] = AbiCoder.defaultAbiCoder().decode(["string"], dataSlice(data, 4));
      const text = String(reason);
      return { name: "Error", args: [text], message: sentence(text), decoded: true, data };
    }
    if (selector === PANIC_SELECTOR) {
      const [code] = AbiCoder.defaultAbiCoder().decode(["uint256"], dataSlice(data, 4));
      const reason = PANIC_REASONS[Number(code)] ?? "an unknown panic";
      return {
        name: "Panic",
        args: [code],
        message: `The contract panicked with code 0x${Number(code).toString(16)}: ${reason}.`,
        decoded: true,
        data,
      };
    }
    const parsed = REGISTRY_ERRORS.parseError(data);
    if (parsed === null) return undefined;
    const args = resultArgs(parsed.args);
    const describe = SENTENCES[parsed.name];
    const message = describe
      ? describe(args)
      : `The contract refused the call with ${parsed.name}(${args.map((a) => String(a)).join(", ")}).`;
    return { name: parsed.name, args, message, decoded: true, data };
  } catch {
    return undefined;
  }
}

function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) return "The contract reverted without a reason.";
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** The message an error would show: ethers' short message when it has one. */
function originalMessage(error: unknown): string {
  if (isRecord(error)) {
    if (typeof error.shortMessage === "string" && error.shortMessage.length > 0) return error.shortMessage;
    if (typeof error.message === "string") return error.message;
  }
  return String(error);
}

/**
 * Decodes what a failed call threw. Looks for revert data where ethers v6 (`error.data`, `error.info.error.data`,
 * `error.revert`), Hardhat's in-process network and JSON-RPC nodes put it. An error it cannot decode comes back
 * with `decoded: false`, name "Unknown" and the original message.
 */
export function decodeError(error: unknown): DecodedError {
  if (error instanceof ConsentError) {
    return { name: error.errorName, args: error.args, message: error.message, decoded: true, data: error.data };
  }
  for (const data of revertDataCandidates(error)) {
    const decoded = decodeRevertData(data);
    if (decoded) return decoded;
  }
  // ethers decoded it with a contract's interface, but the data was not kept.
  if (isRecord(error) && isRecord(error.revert) && typeof error.revert.name === "string") {
    const args = Array.isArray(error.revert.args) ? error.revert.args.map(toPlain) : [];
    const describe = SENTENCES[error.revert.name];
    if (describe) return { name: error.revert.name, args, message: describe(args), decoded: true };
  }
  const data = revertDataCandidates(error)[0];
  return { name: "Unknown", args: [], message: originalMessage(error), decoded: false, data };
}

/**
 * The error to throw for what a call threw: a {ConsentError} with a readable message when the revert was
 * recognised, else the original error unchanged.
 */
export function toConsentError(error: unknown): unknown {
  if (error instanceof ConsentError) return error;
  const decoded = decodeError(error);
  return decoded.decoded ? new ConsentError(decoded, { cause: error }) : error;
}

/** Runs `call`, rethrowing a contract refusal as a {ConsentError}. */
export async function withDecodedErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toConsentError(error);
  }
}
