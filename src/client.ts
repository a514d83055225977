/**
 * The consent client: one object over the three registries for patients, delegates, relayers, providers and
 * registrars. Inputs are checked before anything is sent, grants go to a provider's stable id, and every refusal
 * of a contract comes back as a {@link ConsentError} with one readable sentence.
 */
import {
  TypedDataEncoder,
  Wallet,
  ZeroAddress,
  ZeroHash,
  getAddress,
  id,
  isAddress,
  isHexString,
  recoverAddress,
  toUtf8Bytes,
  type ContractRunner,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  type Provider,
  type Signer,
  type TypedDataDomain,
} from "ethers";
import type { Bundle, Consent } from "fhir/r4";

import {
  ConsentRegistry__factory,
  ProviderRegistry__factory,
  RecordRegistry__factory,
  type ConsentRegistry,
  type ProviderRegistry,
  type RecordRegistry,
} from "../typechain-types";
import {
  ALL_ACTIONS,
  ALL_CAPABILITIES,
  ALL_PURPOSES,
  ANY_CATEGORY,
  Action,
  CATEGORY_CODES,
  ConsentStatus,
  Decision,
  MAX_URI_LENGTH,
  ProviderStatus,
  Purpose,
  actionMask,
  categoryId,
  parseAction,
  parsePurpose,
  purposeMask,
} from "./codes";
import type { DeploymentAddresses } from "./deployment";
import {
  consentDomain,
  recoverGrantSigner,
  signGrant as signGrantTypedData,
  signRevoke as signRevokeTypedData,
  splitSignatureNonce,
  REVOKE_TYPES,
  type GrantRequest,
  type RevokeRequest,
  type TypedDataSigner,
} from "./eip712";
import { describeCategory, withDecodedErrors } from "./errors";
import {
  fromFhirConsent,
  readFhirConsentBundle,
  toFhirConsent,
  type FhirExportOptions,
  type FromFhirConsentOptions,
} from "./fhir";
import {
  accessHistory,
  consentHistory,
  currentConsents,
  type AccessHistoryEvent,
  type ConsentHistoryEvent,
  type ConsentView,
  type CurrentConsent,
  type HistoryOptions,
  type HistorySource,
} from "./history";
import { historySource } from "./history-source";
import {
  anchorBatchItems,
  anchorRecord,
  batchLeaf,
  retractRecord,
  verifyBatchItemOnChain,
  verifyFile,
  type BatchItem,
  type FileVerification,
} from "./records";

/** A grant as a patient (or a delegate, or a FHIR consent) states it. */
export interface GrantParams {
  /** The recipient: a provider's current key or stable id, or any address. The SDK grants to the stable id. */
  grantee: string;
  /** A category code ("laboratory", "*" for every category) or a 0x-prefixed bytes32 category or record id. */
  category: string;
  /** Purposes, as an array of Purpose or a mask of `1 << purpose` bits. */
  purposes: Purpose[] | number;
  /** Actions, as an array of Action or a mask of `1 << action` bits. */
  actions: Action[] | number;
  /** First second the permit is in force; 0 or absent: when it is mined. */
  notBefore?: number | bigint;
  /** First second the permit is no longer in force. */
  expiresAt: number | bigint;
}

/** A grant request as signed: plain numbers, JSON-safe. */
export interface SignedGrantRequest extends GrantRequest {
  purposes: number;
  actions: number;
  notBefore: number;
  expiresAt: number;
}

/** A grant signed by a patient for `grantWithSig`: JSON-safe (bigints as decimal strings), for a file or a wire. */
export interface SignedGrant {
  request: SignedGrantRequest;
  nonce: string;
  deadline: string;
  signature: string;
  chainId: number;
  registry: string;
}

/** A revocation signed by a patient for `revokeWithSig`: JSON-safe. */
export interface SignedRevoke {
  request: RevokeRequest;
  nonce: string;
  deadline: string;
  signature: string;
  chainId: number;
  registry: string;
}

/** How to sign: the deadline, and optionally the nonce, the chain and who signs (default: the client's signer). */
export interface SignOptions {
  /** Last second (unix) the signature may be submitted. */
  deadline: number | bigint;
  /**
   * Default: the key's next nonce, `signatureNonce(patient, grantee, category)`. Give one only to sign ahead, for
   * example a revocation meant to land after a signed grant of the same key (that grant's nonce + 1).
   */
  nonce?: number | bigint;
  /** A Signer, or a raw private key. Default: the client's signer. */
  signer?: TypedDataSigner;
  /** Default: the chain id of the client's provider. */
  chainId?: number | bigint;
}

/** What `consentOf` says of one key. */
export interface ConsentOf {
  consent: ConsentView;
  status: ConsentStatus;
}

/** The next signature nonce of one consent key, and its two halves. */
export interface SignatureNonce {
  /** `(signatureEpoch << 128) | sequence`: what the next signature for the key must carry. */
  nonce: bigint;
  /** The patient's signature epoch (moved on by `cancelSignatures` and `revokeAll`). */
  signatureEpoch: bigint;
  /** The key's decision count (moved on by every grant, deny or revocation of the key). */
  sequence: bigint;
}

/** A provider's keys in the provider registry. */
export interface ProviderKeys {
  /** The stable id: the address the provider was first registered with. */
  id: string;
  /** The key in use now. */
  current: string;
  /** Every key the provider has had, oldest first (the id first). */
  keys: string[];
  /** A key proposed with `rotateKey` that has not accepted yet, or undefined. */
  proposed?: string;
}

/** What {@link ConsentClient.verifyBatchItem} found. */
export interface BatchItemVerification {
  /** Whether the contract verifies the item: in the batch by the proof, and not retracted. */
  valid: boolean;
  /** Whether the patient (or a delegate) retracted the item. */
  retracted: boolean;
  /** Who anchored the batch: a batch only proves that this account committed to the item at that time. */
  submitter: string;
  /** Whether the submitter is an active registered provider now. */
  submitterIsActiveProvider: boolean;
}

export interface ClientOptions {
  /**
   * Category codes accepted besides the well-known ones of `CATEGORY_CODES` (and "*"). A code that is neither is
   * refused, to catch typos; a 0x category id is always accepted.
   */
  categories?: readonly string[];
  /** Accept any well-formed lower-case category code. Default false. */
  anyCategoryCode?: boolean;
  /**
   * Where the history methods read events: the URL of a consent-anchor indexer (see docs/indexer.md), a
   * {@link HistorySource}, or "logs" (the default) for the node's logs. A history call's own `source` wins.
   */
  history?: string | HistorySource;
  /** With an indexer: how many blocks it may lag the node before its answer is refused (default 5). */
  maxIndexerLagBlocks?: number;
}

const UINT40_MAX = 2 ** 40 - 1;

function isSigner(runner: ContractRunner): runner is Signer {
  const candidate = runner as Partial<Signer>;
  return typeof candidate.getAddress === "function" && typeof candidate.signTypedData === "function";
}

function checkAddress(value: string, what: string): string {
  if (typeof value !== "string" || !isAddress(value))
    throw new Error(`Invalid ${what} "${String(value)}": expected an address`);
  return getAddress(value);
}

function toSeconds(value: number | bigint | undefined, what: string): number {
  if (value === undefined) return 0;
  const n = typeof value === "bigint" ? Number(value) : value;
  if (!Number.isSafeInteger(n) || n < 0 || n > UINT40_MAX) {
    throw new Error(`Invalid ${what} ${String(value)}: expected unix seconds (a whole number up to 2^40 - 1)`);
  }
  return n;
}

function checkBatchId(batchId: bigint): bigint {
  if (typeof batchId !== "bigint" || batchId < 0n || batchId >> 256n !== 0n) {
    throw new Error(`Invalid batch id ${String(batchId)}: expected a uint256 as a bigint`);
  }
  return batchId;
}

function toBigInt(value: number | bigint | string, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (
    (typeof value === "number" && Number.isSafeInteger(value)) ||
    (typeof value === "string" && /^\d+$/.test(value))
  ) {
    return BigInt(value);
  }
  throw new Error(`Invalid ${what} ${String(value)}: expected a whole number`);
}

function checkBoolean(value: boolean, what: string): boolean {
  if (typeof value !== "boolean") throw new Error(`Invalid ${what} ${String(value)}: expected true or false`);
  return value;
}

function iso(seconds: number | bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}

/** The purposes mask of `purposes`, refusing an empty or unknown one. */
export function toPurposeMask(purposes: Purpose[] | number): number {
  const mask = Array.isArray(purposes) ? purposeMask(...purposes.map(checkPurpose)) : purposes;
  if (!Number.isInteger(mask) || mask < 0 || (mask & ~ALL_PURPOSES) !== 0) {
    throw new Error(`Invalid purposes mask ${mask}: bits must name purposes (mask at most ${ALL_PURPOSES})`);
  }
  if (mask === 0) throw new Error("No purposes given: a consent needs at least one purpose");
  return mask;
}

/** The actions mask of `actions`, refusing an empty or unknown one. */
export function toActionMask(actions: Action[] | number): number {
  const mask = Array.isArray(actions) ? actionMask(...actions.map(checkAction)) : actions;
  if (!Number.isInteger(mask) || mask < 0 || (mask & ~ALL_ACTIONS) !== 0) {
    throw new Error(`Invalid actions mask ${mask}: bits must name actions (mask at most ${ALL_ACTIONS})`);
  }
  if (mask === 0) throw new Error("No actions given: a consent needs at least one action");
  return mask;
}

function checkPurpose(purpose: Purpose | string): Purpose {
  if (typeof purpose === "string") return parsePurpose(purpose);
  if (typeof Purpose[purpose] !== "string") throw new Error(`Unknown purpose ${String(purpose)}`);
  return purpose;
}

function checkAction(action: Action | string): Action {
  if (typeof action === "string") return parseAction(action);
  if (typeof Action[action] !== "string") throw new Error(`Unknown action ${String(action)}`);
  return action;
}

/** The address that signed a revocation with an ECDSA signature; the zero address for a malformed signature. */
function recoverRevokeSigner(
  domain: TypedDataDomain,
  request: RevokeRequest,
  nonce: bigint,
  deadline: bigint,
  signature: string,
): string {
  try {
    return recoverAddress(TypedDataEncoder.hash(domain, REVOKE_TYPES, { ...request, nonce, deadline }), signature);
  } catch {
    return ZeroAddress;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks the shape of a signed grant (an object, or its JSON text) and returns it normalised. Throws an Error
 * naming the first field that is wrong.
 */
export function parseSignedGrant(input: unknown): SignedGrant {
  const { value, field } = signedEnvelope(input, "signed grant");
  const request = value.request;
  if (!isRecord(request)) throw new Error(`Invalid signed grant: "request" must be an object`);
  const at = (name: string) => `Invalid signed grant: "request.${name}"`;
  const address = (name: string) => {
    const v = request[name];
    if (typeof v !== "string" || !isAddress(v)) throw new Error(`${at(name)} must be an address`);
    return getAddress(v);
  };
  const integer = (name: string, max: number) => {
    const v = request[name];
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > max) {
      throw new Error(`${at(name)} must be a whole number from 0 to ${max}`);
    }
    return n;
  };
  const category = request.category;
  if (typeof category !== "string" || !isHexString(category, 32))
    throw new Error(`${at("category")} must be a bytes32`);
  return {
    request: {
      patient: address("patient"),
      grantee: address("grantee"),
      category: category.toLowerCase(),
      purposes: integer("purposes", 2 ** 32 - 1),
      actions: integer("actions", 255),
      notBefore: integer("notBefore", UINT40_MAX),
      expiresAt: integer("expiresAt", UINT40_MAX),
    },
    ...field,
  };
}

/** Checks the shape of a signed revocation (an object, or its JSON text) and returns it normalised. */
export function parseSignedRevoke(input: unknown): SignedRevoke {
  const { value, field } = signedEnvelope(input, "signed revocation");
  const request = value.request;
  if (!isRecord(request)) throw new Error(`Invalid signed revocation: "request" must be an object`);
  const address = (name: string) => {
    const v = request[name];
    if (typeof v !== "string" || !isAddress(v)) {
      throw new Error(`Invalid signed revocation: "request.${name}" must be an address`);
    }
    return getAddress(v);
  };
  const category = request.category;
  if (typeof category !== "string" || !isHexString(category, 32)) {
    throw new Error(`Invalid signed revocation: "request.category" must be a bytes32`);
  }
  return {
    request: { patient: address("patient"), grantee: address("grantee"), category: category.toLowerCase() },
    ...field,
  };
}

function signedEnvelope(
  input: unknown,
  what: string,
): { value: Record<string, unknown>; field: Omit<SignedGrant, "request"> } {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch {
      throw new Error(`Invalid ${what}: not JSON`);
    }
  }
  if (!isRecord(value)) throw new Error(`Invalid ${what}: expected an object`);
  const decimal = (name: string): string => {
    const v = value[name];
    const text = typeof v === "bigint" || typeof v === "number" ? String(v) : v;
    if (typeof text !== "string" || !/^\d+$/.test(text))
      throw new Error(`Invalid ${what}: "${name}" must be a decimal string`);
    return BigInt(text).toString();
  };
  const signature = value.signature;
  if (typeof signature !== "string" || !isHexString(signature) || signature.length < 4) {
    throw new Error(`Invalid ${what}: "signature" must be 0x-prefixed hex bytes`);
  }
  const chainId =
    typeof value.chainId === "string" && /^\d+$/.test(value.chainId) ? Number(value.chainId) : value.chainId;
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new Error(`Invalid ${what}: "chainId" must be a positive whole number`);
  }
  const registry = value.registry;
  if (typeof registry !== "string" || !isAddress(registry))
    throw new Error(`Invalid ${what}: "registry" must be an address`);
  return {
    value,
    field: {
      nonce: decimal("nonce"),
      deadline: decimal("deadline"),
      signature: signature.toLowerCase(),
      chainId,
      registry: getAddress(registry),
    },
  };
}

/** The client of one deployment of the registries. Writes need a Signer as runner; reads work with a Provider. */
export class ConsentClient {
  readonly consents: ConsentRegistry;
  readonly providers: ProviderRegistry;
  readonly records: RecordRegistry;
  readonly deployment: DeploymentAddresses;
  private readonly extraCategories: Set<string>;
  private readonly anyCategoryCode: boolean;
  /** Where the history methods read events: "logs" (the node) or an indexer. */
  readonly historySource: HistorySource | "logs";

  constructor(
    readonly runner: ContractRunner,
    deployment: DeploymentAddresses,
    options: ClientOptions = {},
  ) {
    this.deployment = {
      ...deployment,
      consentRegistry: checkAddress(deployment.consentRegistry, "consentRegistry address"),
      providerRegistry: checkAddress(deployment.providerRegistry, "providerRegistry address"),
      recordRegistry: checkAddress(deployment.recordRegistry, "recordRegistry address"),
    };
    this.consents = ConsentRegistry__factory.connect(this.deployment.consentRegistry, runner);
    this.providers = ProviderRegistry__factory.connect(this.deployment.providerRegistry, runner);
    this.records = RecordRegistry__factory.connect(this.deployment.recordRegistry, runner);
    this.extraCategories = new Set(options.categories ?? []);
    this.anyCategoryCode = options.anyCategoryCode ?? false;
    this.historySource = historySource(options.history, { maxLagBlocks: options.maxIndexerLagBlocks });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------------------------

  /** The provider the client reads through. */
  get provider(): Provider {
    const provider = this.runner.provider;
    if (!provider) throw new Error("The client's runner has no provider: connect a signer that has one");
    return provider;
  }

  private signer(): Signer {
    if (!isSigner(this.runner)) {
      throw new Error("This needs a signer: connect the client with a Signer (a wallet), not a read-only provider");
    }
    return this.runner;
  }

  /** The address of the client's signer. */
  async address(): Promise<string> {
    return getAddress(await this.signer().getAddress());
  }

  /** The 0x category id of a category code ("laboratory", "*") or of a 0x id; refuses unknown codes. */
  categoryIdOf(category: string): string {
    if (typeof category !== "string") throw new Error(`Invalid category ${String(category)}`);
    if (category.startsWith("0x")) {
      if (!isHexString(category, 32)) throw new Error(`Invalid category id "${category}": expected 32 bytes of hex`);
      if (category === ZeroHash) throw new Error("The category id is zero: use a category code or a record id");
      return category.toLowerCase();
    }
    const known = category === "*" || (CATEGORY_CODES as readonly string[]).includes(category);
    if (!known && !this.extraCategories.has(category) && !this.anyCategoryCode) {
      categoryId(category); // a malformed code gets the codes module's message
      throw new Error(
        `Unknown category code "${category}": use one of ${CATEGORY_CODES.join(", ")}, "*" for every category, ` +
          `or a 0x-prefixed 32-byte category id (categoryId("${category}") for a code of your own)`,
      );
    }
    return categoryId(category);
  }

  /**
   * The category id of a category a piece of data is in: as {categoryIdOf}, refusing "*" (ANY_CATEGORY), which is
   * a scope of consents and never the category of data (the registries would answer false or refuse).
   */
  dataCategoryIdOf(category: string): string {
    const id = this.categoryIdOf(category);
    if (id === ANY_CATEGORY) {
      throw new Error(
        `"*" (every category) is a scope of consents, never the category of data: name the data's own category`,
      );
    }
    return id;
  }

  /** The timestamp of the latest block. */
  async latestTimestamp(): Promise<number> {
    const block = await this.provider.getBlock("latest");
    if (!block) throw new Error("The provider returned no latest block");
    return block.timestamp;
  }

  private async chainId(): Promise<bigint> {
    return (await this.provider.getNetwork()).chainId;
  }

  private async send(call: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    return withDecodedErrors(async () => {
      const tx = await call();
      const receipt = await tx.wait();
      if (!receipt) throw new Error(`No receipt for transaction ${tx.hash}`);
      return receipt;
    });
  }

  private async isContract(address: string): Promise<boolean> {
    return (await this.provider.getCode(address)) !== "0x";
  }

  /** Checks a grant and resolves its grantee to the provider's stable id: the request a patient gives. */
  async prepareGrant(p: GrantParams, patient: string): Promise<SignedGrantRequest> {
    const patientAddress = checkAddress(patient, "patient");
    const grantee = checkAddress(p.grantee, "grantee");
    if (grantee === ZeroAddress) throw new Error("The grantee is the zero address");
    const category = this.categoryIdOf(p.category);
    const purposes = toPurposeMask(p.purposes);
    const actions = toActionMask(p.actions);
    const notBefore = toSeconds(p.notBefore, "notBefore");
    const expiresAt = toSeconds(p.expiresAt, "expiresAt");
    if (expiresAt === 0) throw new Error("expiresAt is required: a permit must end");
    if (notBefore !== 0 && expiresAt <= notBefore) {
      throw new Error(`The consent would end (${iso(expiresAt)}) before it starts (${iso(notBefore)})`);
    }
    const [{ id: key }, now] = await Promise.all([this.providers.resolve(grantee), this.latestTimestamp()]);
    if (expiresAt <= now) {
      throw new Error(`expiresAt ${iso(expiresAt)} is not in the future (latest block time ${iso(now)})`);
    }
    const stableId = getAddress(key);
    if (grantee === patientAddress || stableId === patientAddress) {
      throw new Error(`Patient ${patientAddress} cannot give a consent to themself`);
    }
    return { patient: patientAddress, grantee: stableId, category, purposes, actions, notBefore, expiresAt };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Patient (the runner is the patient's signer)
  // -------------------------------------------------------------------------------------------------------------

  /** Permits `p.grantee` (resolved to its provider stable id) the actions on the category for the purposes. */
  async grant(p: GrantParams): Promise<ContractTransactionReceipt> {
    const r = await this.prepareGrant(p, await this.address());
    return this.send(() => this.consents.grant(r.grantee, r.category, r.purposes, r.actions, r.notBefore, r.expiresAt));
  }

  /** Withdraws the permit or deny for (`grantee`, `category`); a provider's current key finds its id's consents. */
  async revoke(grantee: string, category: string): Promise<ContractTransactionReceipt> {
    const key = checkAddress(grantee, "grantee");
    const id = this.categoryIdOf(category);
    return this.send(() => this.consents.revoke(key, id));
  }

  /** Denies `grantee` any access to the category (every category for "*"): beats every permit. */
  async deny(grantee: string, category: string): Promise<ContractTransactionReceipt> {
    const key = checkAddress(grantee, "grantee");
    if (key === ZeroAddress) throw new Error("The grantee is the zero address");
    const id = this.categoryIdOf(category);
    return this.send(() => this.consents.deny(key, id));
  }

  /**
   * Ends every permit given so far and cancels every signature not submitted yet, in one transaction of constant
   * gas (the registry does both: a grant signed before could otherwise be submitted afterwards). Denies, delegates
   * and the break-glass setting stay.
   */
  async revokeAll(): Promise<ContractTransactionReceipt> {
    return this.send(() => this.consents.revokeAll());
  }

  /**
   * Cancels every signature of the patient not submitted yet, for every grantee and category, in constant gas.
   * Consents in force stay.
   */
  async cancelSignatures(): Promise<ContractTransactionReceipt> {
    return this.send(() => this.consents.cancelSignatures());
  }

  /** Appoints `delegate` to manage the patient's consents until `expiresAt`. */
  async setDelegate(delegate: string, expiresAt: number | bigint): Promise<ContractTransactionReceipt> {
    const address = checkAddress(delegate, "delegate");
    const until = toSeconds(expiresAt, "expiresAt");
    const now = await this.latestTimestamp();
    if (until <= now) throw new Error(`expiresAt ${iso(until)} is not in the future (latest block time ${iso(now)})`);
    return this.send(() => this.consents.setDelegate(address, until));
  }

  async removeDelegate(delegate: string): Promise<ContractTransactionReceipt> {
    const address = checkAddress(delegate, "delegate");
    return this.send(() => this.consents.removeDelegate(address));
  }

  /**
   * Allows (the default) or refuses break-glass access. Refusing closes every open window for good; turning it off
   * and on again also lets a provider whose window the patient closed open a new one.
   */
  async setEmergencyAccess(allowed: boolean): Promise<ContractTransactionReceipt> {
    const value = checkBoolean(allowed, "allowed");
    return this.send(() => this.consents.setEmergencyAccess(value));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Delegate (the runner is a delegate of the patient)
  // -------------------------------------------------------------------------------------------------------------

  async grantFor(patient: string, p: GrantParams): Promise<ContractTransactionReceipt> {
    const r = await this.prepareGrant(p, patient);
    return this.send(() =>
      this.consents.grantFor(r.patient, r.grantee, r.category, r.purposes, r.actions, r.notBefore, r.expiresAt),
    );
  }

  async revokeFor(patient: string, grantee: string, category: string): Promise<ContractTransactionReceipt> {
    const [p, g, c] = [checkAddress(patient, "patient"), checkAddress(grantee, "grantee"), this.categoryIdOf(category)];
    return this.send(() => this.consents.revokeFor(p, g, c));
  }

  async denyFor(patient: string, grantee: string, category: string): Promise<ContractTransactionReceipt> {
    const [p, g, c] = [checkAddress(patient, "patient"), checkAddress(grantee, "grantee"), this.categoryIdOf(category)];
    if (g === ZeroAddress) throw new Error("The grantee is the zero address");
    return this.send(() => this.consents.denyFor(p, g, c));
  }

  /** {revokeAll} for `patient`: ends every permit and cancels every unsubmitted signature of the patient. */
  async revokeAllFor(patient: string): Promise<ContractTransactionReceipt> {
    const p = checkAddress(patient, "patient");
    return this.send(() => this.consents.revokeAllFor(p));
  }

  /** {cancelSignatures} for `patient`. */
  async cancelSignaturesFor(patient: string): Promise<ContractTransactionReceipt> {
    const p = checkAddress(patient, "patient");
    return this.send(() => this.consents.cancelSignaturesFor(p));
  }

  /**
   * {setEmergencyAccess} for `patient`. A delegate that is (a key of) an emergency provider cannot turn it on
   * (`DelegateIsGrantee`).
   */
  async setEmergencyAccessFor(patient: string, allowed: boolean): Promise<ContractTransactionReceipt> {
    const [p, value] = [checkAddress(patient, "patient"), checkBoolean(allowed, "allowed")];
    return this.send(() => this.consents.setEmergencyAccessFor(p, value));
  }

  /** {closeEmergencyAccess} for `patient`. */
  async closeEmergencyAccessFor(patient: string, provider: string): Promise<ContractTransactionReceipt> {
    const [p, key] = [checkAddress(patient, "patient"), checkAddress(provider, "provider")];
    return this.send(() => this.consents.closeEmergencyAccessFor(p, key));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Signed consents (EIP-712)
  // -------------------------------------------------------------------------------------------------------------

  private async signerAndPatient(
    opts: SignOptions,
    patient: string | undefined,
  ): Promise<{ signer: TypedDataSigner; patient: string }> {
    const signer = opts.signer ?? this.signer();
    if (patient !== undefined) return { signer, patient: checkAddress(patient, "patient") };
    if (typeof signer === "string") return { signer, patient: new Wallet(signer).address };
    const withAddress = signer as Partial<Signer>;
    if (typeof withAddress.getAddress === "function") {
      return { signer, patient: getAddress(await withAddress.getAddress()) };
    }
    throw new Error("Cannot tell whose consent this is: give the patient's address");
  }

  private async signingContext(opts: SignOptions, request: RevokeRequest) {
    const deadline = toBigInt(opts.deadline, "deadline");
    const [now, nonce, chainId] = await Promise.all([
      this.latestTimestamp(),
      opts.nonce === undefined
        ? this.consents.signatureNonce(request.patient, request.grantee, request.category)
        : Promise.resolve(toBigInt(opts.nonce, "nonce")),
      opts.chainId === undefined ? this.chainId() : Promise.resolve(toBigInt(opts.chainId, "chainId")),
    ]);
    if (deadline <= BigInt(now)) {
      throw new Error(`The deadline ${iso(deadline)} is not in the future (latest block time ${iso(now)})`);
    }
    if (nonce < 0n) throw new Error(`Invalid nonce ${nonce}`);
    const domain = consentDomain(chainId, this.deployment.consentRegistry);
    return { deadline, nonce, chainId, domain };
  }

  /**
   * Signs a grant for someone else to submit with {submitSignedGrant}. The patient is `p.patient`, else the
   * signer's address. The grantee is resolved to its provider stable id, as {grant} does. The nonce is the key's
   * own: a patient can sign for several grantees or categories at once, and each signature lands whenever it is
   * submitted; two signatures for the same grantee and category land in the order they were signed.
   * Refused when a deny in force would block it (the registry never lets a signed grant pass a deny).
   */
  async signGrant(p: GrantParams & { patient?: string }, opts: SignOptions): Promise<SignedGrant> {
    const { signer, patient } = await this.signerAndPatient(opts, p.patient);
    const request = await this.prepareGrant(p, patient);
    const blocking = await this.denyBlocking(patient, request.grantee, request.category);
    if (blocking) {
      throw new Error(
        `Patient ${patient} has a deny in force against ${blocking.key} for ${describeCategory(blocking.category)}: ` +
          "a signed grant can never land past it. Lift the deny with a transaction (revoke) first.",
      );
    }
    return this.signTyped(request, signer, opts, signGrantTypedData, recoverGrantSigner);
  }

  /**
   * Signs a revocation of (`grantee`, `category`) for someone else to submit with {submitSignedRevoke}. It names
   * the provider's stable id, where the SDK's permits are kept (so it shares its nonces with signed grants to the
   * provider), or the address as given when the permit is kept there. A signed revocation withdraws a permit only:
   * it is refused for a deny, and, unless `opts.nonce` signs ahead, when there is no permit to revoke.
   */
  async signRevoke(
    p: { grantee: string; category: string; patient?: string },
    opts: SignOptions,
  ): Promise<SignedRevoke> {
    const { signer, patient } = await this.signerAndPatient(opts, p.patient);
    const grantee = checkAddress(p.grantee, "grantee");
    const category = this.categoryIdOf(p.category);
    const key = await this.signedRevocationKey(patient, grantee, category, opts.nonce !== undefined);
    const request: RevokeRequest = { patient, grantee: key, category };
    return this.signTyped(request, signer, opts, signRevokeTypedData, recoverRevokeSigner);
  }

  /** The grantee a signed revocation should name: the key holding the permit (see {signRevoke}). */
  private async signedRevocationKey(
    patient: string,
    grantee: string,
    category: string,
    ahead: boolean,
  ): Promise<string> {
    const id = await this.providerIdOf(grantee);
    const candidates = id === grantee ? [id] : [id, grantee];
    for (const key of candidates) {
      const { consent } = await this.consentOf(patient, key, category);
      if (consent.decision === Decision.Deny) {
        throw new Error(
          `Patient ${patient} denied ${key} ${describeCategory(category)}: a signed revocation withdraws permits ` +
            "only; lift a deny with a transaction (revoke) from the patient or a live delegate.",
        );
      }
      if (consent.decision === Decision.Permit) return key;
    }
    if (ahead) return id;
    throw new Error(
      `There is no permit from ${patient} to ${grantee} for ${describeCategory(category)} to revoke ` +
        "(to sign a revocation of a grant not submitted yet, give opts.nonce: that grant's nonce + 1)",
    );
  }

  /**
   * The deny that would make the registry refuse a signed grant of (`patient`, `grantee`, `category`), if any: a
   * deny of the category or of every category, under the grantee, its provider's stable id, or any key the provider
   * ever had.
   */
  async denyBlocking(
    patient: string,
    grantee: string,
    category: string,
  ): Promise<{ key: string; category: string } | undefined> {
    const p = checkAddress(patient, "patient");
    const g = checkAddress(grantee, "grantee");
    const c = this.categoryIdOf(category);
    const id = await this.providerIdOf(g);
    const keys = [...new Set([g, id, ...(await this.providers.keysOf(id)).map((k) => getAddress(k))])];
    const categories = c === ANY_CATEGORY ? [c] : [c, ANY_CATEGORY];
    for (const key of keys) {
      for (const scope of categories) {
        const [, status] = await this.consents.consentOf(p, key, scope);
        if (Number(status) === ConsentStatus.Denied) return { key, category: scope };
      }
    }
    return undefined;
  }

  /** The nonce the next signature for (`patient`, `grantee`, `category`) must carry, and its two halves. */
  async signatureNonce(patient: string, grantee: string, category: string): Promise<SignatureNonce> {
    const nonce = await this.consents.signatureNonce(
      checkAddress(patient, "patient"),
      checkAddress(grantee, "grantee"),
      this.categoryIdOf(category),
    );
    return { nonce, ...splitSignatureNonce(nonce) };
  }

  /**
   * Signs `request` with `sign` under the patient's next nonce (or `opts.nonce`), checks that an ordinary wallet's
   * signature recovers to the patient, and packs the JSON-safe result.
   */
  private async signTyped<R extends RevokeRequest>(
    request: R,
    signer: TypedDataSigner,
    opts: SignOptions,
    sign: (
      signer: TypedDataSigner,
      domain: TypedDataDomain,
      request: R,
      nonce: bigint,
      deadline: bigint,
    ) => Promise<string>,
    recover: (domain: TypedDataDomain, request: R, nonce: bigint, deadline: bigint, signature: string) => string,
  ): Promise<{ request: R; nonce: string; deadline: string; signature: string; chainId: number; registry: string }> {
    const { patient } = request;
    const { deadline, nonce, chainId, domain } = await this.signingContext(opts, request);
    const signature = await sign(signer, domain, request, nonce, deadline);
    if (!(await this.isContract(patient))) {
      const recovered = recover(domain, request, nonce, deadline, signature);
      if (recovered !== patient) throw new Error(`The signer ${recovered} is not the patient ${patient}`);
    }
    return {
      request,
      nonce: nonce.toString(),
      deadline: deadline.toString(),
      signature,
      chainId: Number(chainId),
      registry: this.deployment.consentRegistry,
    };
  }

  /**
   * Checks what a relayer can check before submitting, in this order: chain, registry, deadline, signer (for an
   * ordinary wallet; a contract wallet's signature is checked on-chain) and the key's nonce.
   */
  private async checkSigned(
    s: Omit<SignedGrant, "request">,
    request: RevokeRequest,
    what: string,
    recoverSigner: () => string,
  ): Promise<void> {
    const { patient, grantee, category } = request;
    const [chainId, now, nonce] = await Promise.all([
      this.chainId(),
      this.latestTimestamp(),
      this.consents.signatureNonce(patient, grantee, category),
    ]);
    if (BigInt(s.chainId) !== chainId) {
      throw new Error(`This ${what} is for chain ${s.chainId}, but the client is on chain ${chainId}`);
    }
    if (s.registry !== this.deployment.consentRegistry) {
      throw new Error(`This ${what} is for the consent registry ${s.registry}, not ${this.deployment.consentRegistry}`);
    }
    if (BigInt(s.deadline) < BigInt(now)) throw new Error(`This ${what} expired at ${iso(BigInt(s.deadline))}`);
    if (!(await this.isContract(patient))) {
      const recovered = recoverSigner();
      if (recovered !== patient) {
        throw new Error(
          recovered === ZeroAddress
            ? `The ${what}'s signature is malformed: it is not the patient ${patient}'s`
            : `The ${what}'s signature does not match these terms and the patient ${patient}: the terms were edited ` +
                `after signing, or another account signed them (it recovers to ${recovered})`,
        );
      }
    }
    const given = splitSignatureNonce(s.nonce);
    const next = splitSignatureNonce(nonce);
    const key = `${grantee} and ${describeCategory(category)}`;
    if (given.signatureEpoch < next.signatureEpoch) {
      throw new Error(
        `This ${what} was cancelled: the patient cancelled every unsubmitted signature (cancelSignatures or ` +
          `revokeAll) after signing it (its signature epoch ${given.signatureEpoch}, now ${next.signatureEpoch})`,
      );
    }
    if (given.signatureEpoch > next.signatureEpoch) {
      throw new Error(
        `This ${what}'s nonce ${s.nonce} is from signature epoch ${given.signatureEpoch}, but the patient is in ` +
          `epoch ${next.signatureEpoch}: it was not signed with a nonce of this registry`,
      );
    }
    if (given.sequence < next.sequence) {
      throw new Error(
        `This ${what}'s nonce was already used: it was submitted, or a later decision on ${key} (a grant, deny or ` +
          `revocation) replaced it (sequence ${given.sequence}, the key's next is ${next.sequence})`,
      );
    }
    if (given.sequence > next.sequence) {
      throw new Error(
        `This ${what}'s nonce is ahead of the next one for ${key} (sequence ${given.sequence}, the key's next is ` +
          `${next.sequence}): submit the patient's earlier signatures for the same grantee and category first`,
      );
    }
  }

  /** Submits a grant a patient signed (the runner pays the gas). Checks shape, chain, registry, nonce and signer. */
  async submitSignedGrant(signed: SignedGrant | string): Promise<ContractTransactionReceipt> {
    const s = parseSignedGrant(signed);
    const domain = consentDomain(s.chainId, s.registry);
    await this.checkSigned(s, s.request, "signed grant", () => {
      try {
        return recoverGrantSigner(domain, s.request, BigInt(s.nonce), BigInt(s.deadline), s.signature);
      } catch {
        return ZeroAddress; // a malformed signature: reported as not the patient's
      }
    });
    return this.send(() => this.consents.grantWithSig(s.request, s.deadline, s.signature));
  }

  /** Submits a revocation a patient signed. */
  async submitSignedRevoke(signed: SignedRevoke | string): Promise<ContractTransactionReceipt> {
    const s = parseSignedRevoke(signed);
    const { patient, grantee, category } = s.request;
    const domain = consentDomain(s.chainId, s.registry);
    await this.checkSigned(s, s.request, "signed revocation", () =>
      recoverRevokeSigner(domain, s.request, BigInt(s.nonce), BigInt(s.deadline), s.signature),
    );
    return this.send(() => this.consents.revokeWithSig(patient, grantee, category, s.deadline, s.signature));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Provider
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Whether `grantee` may perform `action` on the patient's category for `purpose` now. The category is that of the
   * data ("*" is refused: a permit for every category answers for each data category).
   */
  async isAuthorized(
    patient: string,
    grantee: string,
    category: string,
    purpose: Purpose | string,
    action: Action | string,
  ): Promise<boolean> {
    return this.consents.isAuthorized(
      checkAddress(patient, "patient"),
      checkAddress(grantee, "grantee"),
      this.dataCategoryIdOf(category),
      checkPurpose(purpose),
      checkAction(action),
    );
  }

  /** The consent stored for exactly (patient, grantee, category) (or under the grantee's provider id), and its status. */
  async consentOf(patient: string, grantee: string, category: string): Promise<ConsentOf> {
    const [consent, status] = await this.consents.consentOf(
      checkAddress(patient, "patient"),
      checkAddress(grantee, "grantee"),
      this.categoryIdOf(category),
    );
    return {
      consent: {
        purposes: Number(consent.purposes),
        actions: Number(consent.actions),
        notBefore: Number(consent.notBefore),
        expiresAt: Number(consent.expiresAt),
        issuedAt: Number(consent.issuedAt),
        epoch: Number(consent.epoch),
        decision: Number(consent.decision) as Decision,
        sequence: Number(consent.sequence),
      },
      status: Number(status) as ConsentStatus,
    };
  }

  /** Records an access to the patient's data (the runner is the grantee); refused unless authorised now. */
  async recordAccess(
    patient: string,
    category: string,
    purpose: Purpose | string,
    action: Action | string,
    recordId: string = ZeroHash,
  ): Promise<ContractTransactionReceipt> {
    if (!isHexString(recordId, 32)) throw new Error(`Invalid record id "${recordId}": expected 32 bytes of hex`);
    const [p, c, pu, a] = [
      checkAddress(patient, "patient"),
      this.dataCategoryIdOf(category),
      checkPurpose(purpose),
      checkAction(action),
    ];
    return this.send(() => this.consents.recordAccess(p, c, pu, a, recordId));
  }

  /**
   * Opens a 24-hour break-glass window; only `keccak256(reason)` is sent. A window is not renewed while open
   * (`EmergencyAccessAlreadyOpen`), and after the patient closed it the provider cannot open another until the
   * patient turns break-glass off and on again or grants it a consent (`EmergencyAccessRefused`).
   */
  async emergencyAccess(patient: string, reason: string): Promise<ContractTransactionReceipt> {
    const p = checkAddress(patient, "patient");
    if (typeof reason !== "string" || reason.trim().length === 0) {
      throw new Error("Give the clinical reason for break-glass access");
    }
    return this.send(() => this.consents.emergencyAccess(p, id(reason)));
  }

  /** Closes `provider`'s break-glass window on the patient (the runner is the patient). */
  async closeEmergencyAccess(provider: string): Promise<ContractTransactionReceipt> {
    const p = checkAddress(provider, "provider");
    return this.send(() => this.consents.closeEmergencyAccess(p));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Provider registry
  // -------------------------------------------------------------------------------------------------------------

  /** Registers `provider` (the runner is a registrar). `identifier` (an NPI...) is hashed, unless already a bytes32. */
  async registerProvider(
    provider: string,
    identifier: string,
    capabilities: number,
    metadataURI = "",
  ): Promise<ContractTransactionReceipt> {
    const address = checkAddress(provider, "provider");
    if (address === ZeroAddress) throw new Error("The provider is the zero address");
    if (!Number.isInteger(capabilities) || capabilities <= 0 || (capabilities & ~ALL_CAPABILITIES) !== 0) {
      throw new Error(`Invalid capabilities ${capabilities}: a non-empty mask of TREATMENT 1, EMERGENCY 2, RESEARCH 4`);
    }
    const length = toUtf8Bytes(metadataURI).length;
    if (length > MAX_URI_LENGTH) throw new Error(`The metadata URI is ${length} bytes; at most ${MAX_URI_LENGTH}`);
    const identifierHash = isHexString(identifier, 32) ? identifier : id(identifier);
    return this.send(() => this.providers.register(address, identifierHash, capabilities, metadataURI));
  }

  /** Suspends `provider` (the runner is a registrar); only `keccak256(reason)` is sent. */
  async suspendProvider(provider: string, reason: string): Promise<ContractTransactionReceipt> {
    const address = checkAddress(provider, "provider");
    return this.send(() => this.providers.suspend(address, id(reason)));
  }

  /** Reinstates a suspended `provider` (the runner is a registrar). */
  async reinstateProvider(provider: string): Promise<ContractTransactionReceipt> {
    const address = checkAddress(provider, "provider");
    return this.send(() => this.providers.reinstate(address));
  }

  /**
   * Step 1 of a key rotation, by the provider's current key (the runner): proposes `newKey`. Nothing moves until
   * `newKey` accepts with {acceptKey}. A new proposal replaces the previous one. `newKey` must be a fresh address,
   * never registered; denies a patient once gave to it as a plain address will apply to the provider for good.
   */
  async rotateKey(newKey: string): Promise<ContractTransactionReceipt> {
    const address = checkAddress(newKey, "new key");
    if (address === ZeroAddress) {
      throw new Error("The new key is the zero address: use withdrawKeyRotation() to withdraw a proposal");
    }
    const { status } = await this.providerStatus(address);
    if (status !== ProviderStatus.None) {
      throw new Error(`${address} is, or once was, a registered provider key: propose a fresh address`);
    }
    return this.send(() => this.providers.rotateKey(address));
  }

  /** Withdraws the runner's pending key rotation proposal. */
  async withdrawKeyRotation(): Promise<ContractTransactionReceipt> {
    return this.send(() => this.providers.rotateKey(ZeroAddress));
  }

  /**
   * Step 2 of a key rotation, by the proposed key (the runner): becomes the current key of the provider `provider`
   * (its stable id, or any of its keys), whose previous key is retired for good. Consents kept under the stable id
   * follow.
   */
  async acceptKey(provider: string): Promise<ContractTransactionReceipt> {
    const id = await this.providerIdOf(provider);
    const [me, proposed] = await Promise.all([this.address(), this.providers.proposedKeyOf(id)]);
    if (getAddress(proposed) !== me) {
      const pending = proposed === ZeroAddress ? "has no rotation pending" : `proposed ${getAddress(proposed)}`;
      throw new Error(`Provider ${id} ${pending}, not ${me}: only the proposed key accepts a rotation`);
    }
    return this.send(() => this.providers.acceptKey(id));
  }

  /** The keys of the provider `provider` (its stable id, or any of its keys); throws for an unregistered address. */
  async providerKeys(provider: string): Promise<ProviderKeys> {
    const id = await this.providerIdOf(provider);
    const [keys, current, proposed] = await Promise.all([
      this.providers.keysOf(id),
      this.providers.currentKeyOf(id),
      this.providers.proposedKeyOf(id),
    ]);
    if (keys.length === 0) throw new Error(`${getAddress(provider)} is not a registered provider`);
    return {
      id,
      current: getAddress(current),
      keys: keys.map((key) => getAddress(key)),
      ...(proposed === ZeroAddress ? {} : { proposed: getAddress(proposed) }),
    };
  }

  /** The key the provider `id` proposed that has not accepted yet (the zero address when none). */
  async proposedKeyOf(id: string): Promise<string> {
    return getAddress(await this.providers.proposedKeyOf(checkAddress(id, "provider id")));
  }

  /** The provider's current key (the zero address when `id` is not a provider's stable id). */
  async currentKeyOf(id: string): Promise<string> {
    return getAddress(await this.providers.currentKeyOf(checkAddress(id, "provider id")));
  }

  /** Every key the provider `id` has had, oldest first (empty when `id` is not a provider's stable id). */
  async keysOf(id: string): Promise<string[]> {
    return (await this.providers.keysOf(checkAddress(id, "provider id"))).map((key) => getAddress(key));
  }

  /** The stable id consents to `address` are kept under (the address itself when it is not a provider). */
  async providerIdOf(address: string): Promise<string> {
    const { id: key } = await this.providers.resolve(checkAddress(address, "address"));
    return getAddress(key);
  }

  /** The provider registry's view of `address`: its stable id, status and capabilities. */
  async providerStatus(address: string): Promise<{ id: string; status: ProviderStatus; capabilities: number }> {
    const [key, status, capabilities] = await this.providers.resolve(checkAddress(address, "address"));
    return { id: getAddress(key), status: Number(status) as ProviderStatus, capabilities: Number(capabilities) };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Records
  // -------------------------------------------------------------------------------------------------------------

  /** Anchors one record's fingerprint (give the bytes, or their SHA-256 `contentHash`). */
  async anchor(a: {
    patient: string;
    category: string;
    bytes?: Uint8Array;
    contentHash?: string;
    supersedes?: string;
    uri: string;
  }): Promise<{ recordId: string; contentHash: string; receipt: ContractTransactionReceipt }> {
    const patient = checkAddress(a.patient, "patient");
    const category = this.dataCategoryIdOf(a.category);
    if (a.supersedes !== undefined && !isHexString(a.supersedes, 32)) {
      throw new Error(`Invalid record id to supersede "${String(a.supersedes)}": expected 32 bytes of hex`);
    }
    const base = { patient, category, supersedes: a.supersedes, uri: a.uri };
    return withDecodedErrors(() => {
      if (a.bytes !== undefined && a.contentHash === undefined) {
        return anchorRecord(this.records, { ...base, bytes: a.bytes });
      }
      if (a.contentHash !== undefined && a.bytes === undefined) {
        return anchorRecord(this.records, { ...base, contentHash: a.contentHash });
      }
      throw new Error("Give either the record's bytes or its contentHash (exactly one)");
    }).then(({ recordId, contentHash, receipt }) => ({ recordId, contentHash, receipt }));
  }

  /** Retracts a record as entered in error; only `keccak256(reason)` is sent. */
  async retract(recordId: string, reason: string): Promise<ContractTransactionReceipt> {
    if (!isHexString(recordId, 32)) throw new Error(`Invalid record id "${recordId}": expected 32 bytes of hex`);
    const { receipt } = await withDecodedErrors(() => retractRecord(this.records, recordId, reason));
    return receipt;
  }

  /** Whether the file's bytes are anchored for `patient`. */
  async verifyFile(patient: string, bytes: Uint8Array): Promise<FileVerification> {
    return verifyFile(this.records, checkAddress(patient, "patient"), bytes);
  }

  /**
   * Anchors the Merkle root of `items` (categories as codes or ids, never "*") and returns each item's proof. Only
   * an active registered provider anchors batches. A batch proves only that the submitter committed to the items at
   * that time: it is no write into a patient's records and needs no consent.
   */
  async anchorBatch(
    items: BatchItem[],
    uri: string,
  ): Promise<{ batchId: bigint; root: string; proofs: string[][]; receipt: ContractTransactionReceipt }> {
    if (!Array.isArray(items)) throw new Error("Give the batch's items as an array");
    const normalised = items.map((item) => this.batchItem(item));
    const { batchId, root, proofs, receipt } = await withDecodedErrors(() =>
      anchorBatchItems(this.records, normalised, uri),
    );
    return { batchId, root, proofs, receipt };
  }

  /**
   * Whether `item` is in batch `batchId` by `proof` and not retracted, and who anchored the batch. A valid item
   * proves only that the submitter committed to it when the batch was anchored: check who the submitter is.
   */
  async verifyBatchItem(batchId: bigint, proof: string[], item: BatchItem): Promise<BatchItemVerification> {
    const checked = checkBatchId(batchId);
    const normalised = this.batchItem(item, false);
    if (!Array.isArray(proof) || !proof.every((node) => isHexString(node, 32))) {
      throw new Error("Invalid proof: expected an array of 32-byte hex strings");
    }
    const [valid, retracted, batch] = await Promise.all([
      verifyBatchItemOnChain(this.records, checked, proof, normalised),
      this.isBatchItemRetracted(checked, normalised),
      this.records.batchOf(checked),
    ]);
    const submitter = getAddress(batch.submitter);
    const submitterIsActiveProvider = submitter !== ZeroAddress && (await this.providers.isActive(submitter));
    return { valid, retracted, submitter, submitterIsActiveProvider };
  }

  /**
   * Retracts the item (patient, category, contentHash) of batch `batchId` (the runner is the patient or a live
   * delegate); only `keccak256(reason)` is sent. The batch's other items are unchanged.
   */
  async retractBatchItem(batchId: bigint, item: BatchItem, reason: string): Promise<ContractTransactionReceipt> {
    const batch = checkBatchId(batchId);
    const { patient, category, contentHash } = this.batchItem(item, false);
    if (typeof reason !== "string" || reason.trim().length === 0) {
      throw new Error("Give the reason for retracting the batch item (only its hash is sent)");
    }
    return this.send(() => this.records.retractBatchItem(batch, patient, category, contentHash, id(reason)));
  }

  /** Whether the item of batch `batchId` was retracted. */
  async isBatchItemRetracted(batchId: bigint, item: BatchItem): Promise<boolean> {
    const { patient, category, contentHash } = this.batchItem(item, false);
    return this.records.isBatchItemRetracted(checkBatchId(batchId), patient, category, contentHash);
  }

  /** A batch item with its patient checksummed and its category as an id (a data category when `data`). */
  private batchItem(item: BatchItem, data = true): BatchItem {
    if (typeof item !== "object" || item === null) throw new Error("A batch item must be an object");
    const patient = checkAddress(item.patient, "batch item patient");
    const category = data ? this.dataCategoryIdOf(item.category) : this.categoryIdOf(item.category);
    const normalised = { patient, category, contentHash: item.contentHash };
    batchLeaf(normalised); // checks the content hash
    return normalised;
  }

  // -------------------------------------------------------------------------------------------------------------
  // History
  // -------------------------------------------------------------------------------------------------------------

  /** The patient's consent history, oldest first, from the deployment block by default. */
  async consentHistory(patient: string, opts: HistoryOptions = {}): Promise<ConsentHistoryEvent[]> {
    return consentHistory(
      this.consents,
      checkAddress(patient, "patient"),
      { source: this.historySource, ...opts },
      this.deployment.deploymentBlock ?? 0,
    );
  }

  /** The patient's access history (recorded accesses and break-glass windows), oldest first. */
  async accessHistory(patient: string, opts: HistoryOptions = {}): Promise<AccessHistoryEvent[]> {
    return accessHistory(
      this.consents,
      checkAddress(patient, "patient"),
      { source: this.historySource, ...opts },
      this.deployment.deploymentBlock ?? 0,
    );
  }

  /** The patient's stored consents as the events say (compare with {consentOf}). */
  async currentConsents(patient: string, opts: HistoryOptions = {}): Promise<CurrentConsent[]> {
    return currentConsents(
      this.consents,
      checkAddress(patient, "patient"),
      { source: this.historySource, ...opts },
      this.deployment.deploymentBlock ?? 0,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // FHIR
  // -------------------------------------------------------------------------------------------------------------

  /**
   * The FHIR R4 Consent of the consent `consentOf(patient, grantee, category)` reads. Its actor is the key the
   * consent is stored under: the provider's stable id when the consent is kept there.
   */
  async fhirConsent(patient: string, grantee: string, category: string): Promise<Consent> {
    const address = checkAddress(grantee, "grantee");
    const [read, key, chainId] = await Promise.all([
      this.consentOf(patient, address, category),
      this.providerIdOf(address),
      this.chainId(),
    ]);
    let storedUnder = address;
    if (key !== address) {
      const underKey = await this.consentOf(patient, key, category);
      const fields = Object.keys(read.consent) as (keyof ConsentView)[];
      if (fields.every((field) => underKey.consent[field] === read.consent[field])) storedUnder = key;
    }
    return toFhirConsent({
      patient,
      grantee: storedUnder,
      category, // checked by consentOf; a code keeps its name in provision.class
      consent: read.consent,
      status: read.status,
      chainId,
      registry: this.deployment.consentRegistry,
    });
  }

  /**
   * The patient's whole picture as a FHIR R4 Bundle of type `collection`: one Consent per consent key the history
   * shows something stored under, with its status at the latest block (see `readFhirConsentBundle`).
   */
  async fhirConsentBundle(
    patient: string,
    options: Omit<FhirExportOptions, "registry" | "chainId"> = {},
  ): Promise<Bundle<Consent>> {
    const address = checkAddress(patient, "patient");
    const chainId = this.deployment.chainId ?? (await this.chainId());
    return readFhirConsentBundle(this, address, { ...options, chainId });
  }

  /**
   * Applies a FHIR R4 Consent for the runner (the patient), in the order `fromFhirConsent` gives: a `revokeAll`
   * first when the consent has one, then one grant per permit and one deny per deny. `options` are passed to
   * `fromFhirConsent` (`resolve` for the EHR's references, `openEnded`, `limitedDenies`...). Everything is checked
   * before the first transaction is sent.
   */
  async applyFhirConsent(
    resource: Consent,
    options: Omit<FromFhirConsentOptions, "chainId" | "registry" | "patient"> = {},
  ): Promise<ContractTransactionReceipt[]> {
    const patient = await this.address();
    const calls = fromFhirConsent(resource, {
      ...options,
      chainId: await this.chainId(),
      registry: this.deployment.consentRegistry,
      patient,
    });
    for (const call of calls) {
      if (call.kind === "grant") await this.prepareGrant(call.params, patient);
      else if (call.kind === "deny") this.categoryIdOf(call.category);
    }
    const receipts: ContractTransactionReceipt[] = [];
    for (const call of calls) {
      if (call.kind === "grant") receipts.push(await this.grant(call.params));
      else if (call.kind === "deny") receipts.push(await this.deny(call.grantee, call.category));
      else receipts.push(await this.revokeAll());
    }
    return receipts;
  }
}

/** A client of the registries of `deployment`, acting as `runner` (a Signer to write, a Provider to read). */
export function connect(
  runner: ContractRunner,
  deployment: DeploymentAddresses,
  options?: ClientOptions,
): ConsentClient {
  return new ConsentClient(runner, deployment, options);
}
