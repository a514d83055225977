/**
 * The patient's side of privacy mode, in one object: the secret (in memory only), relationship keys and private
 * category ids, pseudonyms, signed private consents, the listing of everything by name, and revoking everything.
 *
 * Reading privacy. The listing reads whole event streams of the registries and filters them here: it never asks the
 * node for the logs of one account, so the node answering it does not learn which pseudonyms belong together. (It
 * does read `consentOf` and `signatureNonce` of single keys when signing, as any wallet does.)
 */
import {
  SigningKey,
  ZeroHash,
  computeAddress,
  getAddress,
  type ContractTransactionReceipt,
  type Log,
  type Signer,
  type Wallet,
} from "ethers";

import { ANY_CATEGORY, Action, CATEGORY_CODES, ConsentStatus, Decision, Purpose, RecordStatus } from "../codes";
import type { ConsentClient, GrantParams, SignedGrant, SignedRevoke } from "../client";
import {
  DEFAULT_HISTORY_STEP,
  getLogsPaged,
  replayConsents,
  type ConsentView,
  type HistoryEvent,
  type HistoryOptions,
} from "../history";
import {
  CategoryNames,
  granteeRelationship,
  privateCategoryId,
  type GranteeRelationship,
  type RelationshipKey,
} from "./relationship";
import { consentDomain, grantDigest } from "../eip712";
import { signerPublicKey } from "./encrypt";
import { pseudonymWallet } from "./pseudonyms";
import { derivePatientSecret, parsePatientSecret, type PatientSecret } from "./secret";

/** A grant in privacy mode: as {@link GrantParams}, with the category as a code ("laboratory", "*"). */
export type PrivateGrantParams = Omit<GrantParams, "category"> & { category: string };

/** How to sign in privacy mode. */
export interface PrivateSignOptions {
  /** Last second (unix) the signature may be submitted. Keep it short: see docs/privacy.md. */
  deadline: number | bigint;
  /** Sign as the pairwise pseudonym towards the grantee (default false: as the main account). */
  pseudonym?: boolean;
}

/** A privacy-mode signed grant: the signed data, plus what the grantee keeps (its relationship key). */
export interface PrivateSignedGrant extends SignedGrant {
  categoryCode: string;
  relationship: GranteeRelationship;
}

/** A privacy-mode signed revocation. */
export interface PrivateSignedRevoke extends SignedRevoke {
  categoryCode?: string;
}

/** What a grantee receives after a direct (not signed) private grant: its relationship key, and the grant's code. */
export interface ConsentReceipt {
  kind: "consent-anchor/consent-receipt";
  categoryCode: string;
  categoryId: string;
  transaction: string;
  relationship: GranteeRelationship;
}

/** One patient account of the listing: the main address, or the pseudonym towards one provider. */
export interface PrivacyAccount {
  account: string;
  kind: "main" | "pseudonym";
  /** For a pseudonym: the provider (stable id) it is shown to. */
  providerId?: string;
}

export interface PrivateConsentEntry {
  account: string;
  accountKind: PrivacyAccount["kind"];
  grantee: string;
  category: string;
  /** The category's name, when the id is a known code's in a known relationship (or public). */
  categoryCode?: string;
  consent: ConsentView;
  status: ConsentStatus;
}

export interface PrivateAccessEntry {
  account: string;
  grantee: string;
  category: string;
  categoryCode?: string;
  purpose: keyof typeof Purpose;
  action: Lowercase<keyof typeof Action>;
  recordId: string;
  blockNumber: number;
  txHash: string;
}

export interface PrivateEmergencyEntry {
  account: string;
  provider: string;
  openedAt: number;
  expiresAt: number;
  blockNumber: number;
  txHash: string;
}

export interface PrivateRecordEntry {
  account: string;
  recordId: string;
  category: string;
  categoryCode?: string;
  contentHash: string;
  anchoredBy: string;
  uri: string;
  status: RecordStatus;
  blockNumber: number;
  txHash: string;
}

/** Everything of the patient, across the main account and every pseudonym, by name. */
export interface PrivateListing {
  accounts: PrivacyAccount[];
  consents: PrivateConsentEntry[];
  accesses: PrivateAccessEntry[];
  emergencies: PrivateEmergencyEntry[];
  records: PrivateRecordEntry[];
  /** The latest block read, and its time. */
  block: number;
  timestamp: number;
}

export interface PrivacyOptions {
  /** Category codes to name besides the well-known ones. */
  codes?: readonly string[];
  /** Grantees that are not registered providers (a person, a contract) to look for pseudonyms and names too. */
  extraGrantees?: readonly string[];
}

const CONSENT_KINDS = [
  "ConsentGranted",
  "ConsentRevoked",
  "ConsentDenied",
  "AllConsentsRevoked",
  "AccessRecorded",
  "EmergencyAccessOpened",
] as const;

/** The patient's privacy mode over one deployment. */
export class PatientPrivacy {
  readonly codes: readonly string[];
  private readonly extraGrantees: string[];

  private constructor(
    private readonly secret: PatientSecret,
    readonly client: ConsentClient,
    readonly mainAccount: string,
    options: PrivacyOptions,
  ) {
    this.codes = [...new Set([...CATEGORY_CODES, ...(options.codes ?? [])])];
    this.extraGrantees = (options.extraGrantees ?? []).map((g) => getAddress(g));
  }

  /**
   * Privacy mode from the wallet alone: the client's signer signs the fixed message twice (deterministic wallets;
   * see `derivePatientSecret`). The client stays the patient's main account.
   */
  static async fromWallet(client: ConsentClient, options: PrivacyOptions = {}): Promise<PatientPrivacy> {
    const signer = client.runner as Signer;
    const secret = await derivePatientSecret(signer);
    return new PatientPrivacy(secret, client, await client.address(), options);
  }

  /** Privacy mode from a secret already at hand (a restored backup, for a wallet that does not sign deterministically). */
  static fromSecret(
    secret: PatientSecret,
    client: ConsentClient,
    mainAccount: string,
    options: PrivacyOptions = {},
  ): PatientPrivacy {
    return new PatientPrivacy(parsePatientSecret(secret), client, getAddress(mainAccount), options);
  }

  // -----------------------------------------------------------------------------------------------------------
  // Keys and ids
  // -----------------------------------------------------------------------------------------------------------

  /** The pseudonym's wallet towards `providerId` (a stable id), connected to the client's provider. In memory only. */
  pseudonym(providerId: string): Wallet {
    return pseudonymWallet(this.secret, providerId, this.client.provider);
  }

  /** The relationship a grantee receives for the relationship of `account` (main or pseudonym) and `grantee`. */
  async relationship(grantee: string, account: string): Promise<GranteeRelationship> {
    const { chainId } = await this.client.provider.getNetwork();
    return granteeRelationship({
      secret: this.secret,
      patient: account,
      grantee,
      chainId,
      registry: this.client.deployment.consentRegistry,
    });
  }

  /** The relationship key of (`grantee`, `account`). */
  async relationshipKey(grantee: string, account: string): Promise<RelationshipKey> {
    return (await this.relationship(grantee, account)).key;
  }

  /** The private id of `code` in the relationship of (`grantee`, `account`). */
  async categoryId(grantee: string, account: string, code: string): Promise<string> {
    return privateCategoryId(await this.relationshipKey(grantee, account), code);
  }

  /** The patient account towards `grantee` (its stable id, resolved): the main address or its pseudonym. */
  async accountFor(grantee: string, pseudonym: boolean): Promise<{ providerId: string; account: string }> {
    const providerId = await this.client.providerIdOf(grantee);
    return { providerId, account: pseudonym ? this.pseudonym(providerId).address : this.mainAccount };
  }

  /** The registered providers' stable ids, from the provider registry's events. */
  async providerIds(options: HistoryOptions = {}): Promise<string[]> {
    const logs = await this.logs(
      this.client.deployment.providerRegistry,
      [this.client.providers.interface.getEvent("ProviderRegistered").topicHash],
      options,
    );
    const ids = logs.map((log) => getAddress(`0x${log.topics[1].slice(26)}`));
    return [...new Set([...ids, ...this.extraGrantees])];
  }

  /** The main account and the pseudonym towards every registered provider (and every extra grantee). */
  async accounts(options: HistoryOptions = {}): Promise<PrivacyAccount[]> {
    const ids = await this.providerIds(options);
    return [
      { account: this.mainAccount, kind: "main" },
      ...ids.map((providerId) => ({
        account: this.pseudonym(providerId).address,
        kind: "pseudonym" as const,
        providerId,
      })),
    ];
  }

  // -----------------------------------------------------------------------------------------------------------
  // Consents
  // -----------------------------------------------------------------------------------------------------------

  /**
   * Signs a private grant (the category is keyed per relationship) for the grantee or a relayer to submit with
   * `submitSignedGrant`. With `pseudonym`, the signer is the pairwise pseudonym towards the grantee, which never
   * needs gas. The result carries the grantee's relationship key: give the file to the grantee only.
   */
  async signGrant(params: PrivateGrantParams, opts: PrivateSignOptions): Promise<PrivateSignedGrant> {
    const { providerId, account } = await this.accountFor(params.grantee, opts.pseudonym ?? false);
    const relationship = await this.relationship(providerId, account);
    const category = privateCategoryId(relationship.key, params.category);
    const signed = await this.client.signGrant(
      { ...params, grantee: providerId, category, patient: account },
      { deadline: opts.deadline, ...(opts.pseudonym ? { signer: this.pseudonym(providerId) } : {}) },
    );
    return { ...signed, categoryCode: params.category, relationship };
  }

  /**
   * Grants directly from the main account (a transaction the patient sends and pays: no pseudonym), under a private
   * category, and returns the receipt to give the grantee.
   */
  async grant(
    params: PrivateGrantParams,
  ): Promise<{ receipt: ContractTransactionReceipt; consentReceipt: ConsentReceipt }> {
    const { providerId, account } = await this.accountFor(params.grantee, false);
    const relationship = await this.relationship(providerId, account);
    const categoryId = privateCategoryId(relationship.key, params.category);
    const receipt = await this.client.grant({ ...params, grantee: providerId, category: categoryId });
    return {
      receipt,
      consentReceipt: {
        kind: "consent-anchor/consent-receipt",
        categoryCode: params.category,
        categoryId,
        transaction: receipt.hash,
        relationship,
      },
    };
  }

  /** Signs a revocation of a private permit (by code) to `grantee`, as the main account or the pseudonym. */
  async signRevoke(p: { grantee: string; category: string }, opts: PrivateSignOptions): Promise<PrivateSignedRevoke> {
    const { providerId, account } = await this.accountFor(p.grantee, opts.pseudonym ?? false);
    const category = await this.categoryId(providerId, account, p.category);
    const signed = await this.client.signRevoke(
      { grantee: providerId, category, patient: account },
      { deadline: opts.deadline, ...(opts.pseudonym ? { signer: this.pseudonym(providerId) } : {}) },
    );
    return { ...signed, categoryCode: p.category };
  }

  // -----------------------------------------------------------------------------------------------------------
  // Listing
  // -----------------------------------------------------------------------------------------------------------

  private async logs(address: string, topic0: string[], options: HistoryOptions): Promise<Log[]> {
    const provider = this.client.provider;
    const latest = await provider.getBlock("latest");
    if (!latest) throw new Error("The node returned no latest block");
    const fromBlock = options.fromBlock ?? this.client.deployment.deploymentBlock ?? 0;
    const toBlock = options.toBlock ?? latest.number;
    if (toBlock < fromBlock) return [];
    return getLogsPaged(
      provider,
      { address, topics: [topic0] },
      fromBlock,
      toBlock,
      options.step ?? DEFAULT_HISTORY_STEP,
    );
  }

  /**
   * Everything of the patient, by name: the consents of the main account and of every pseudonym (one per registered
   * provider) with their status, the accesses recorded, break-glass windows and the records anchored. Category names
   * are found by recomputing the private ids of every relationship (and the public ids of the codes).
   */
  async list(options: HistoryOptions = {}): Promise<PrivateListing> {
    const provider = this.client.provider;
    const latest = await provider.getBlock(options.toBlock ?? "latest");
    if (!latest) throw new Error("The node returned no latest block");
    const range = { ...options, toBlock: latest.number };
    const accounts = await this.accounts(range);
    const kindOf = new Map(accounts.map((a) => [a.account.toLowerCase(), a]));
    const mine = (topic: string | undefined) => topic !== undefined && kindOf.has(`0x${topic.slice(26)}`.toLowerCase());
    const consentsInterface = this.client.consents.interface;
    const recordsInterface = this.client.records.interface;

    const [consentLogs, recordLogs] = await Promise.all([
      this.logs(
        this.client.deployment.consentRegistry,
        CONSENT_KINDS.map((kind) => consentsInterface.getEvent(kind).topicHash),
        range,
      ),
      this.logs(
        this.client.deployment.recordRegistry,
        (["RecordAnchored", "RecordRetracted"] as const).map((kind) => recordsInterface.getEvent(kind).topicHash),
        range,
      ),
    ]);

    const names = new CategoryNames(this.secret, this.codes);
    const providerIds = accounts.flatMap((a) => (a.providerId ? [a.providerId] : []));
    for (const id of providerIds) names.add(id, this.mainAccount);
    for (const a of accounts) {
      names.add(a.account, a.account); // the patient's own records
      if (a.providerId) names.add(a.providerId, a.account);
    }

    const events = new Map<string, HistoryEvent[]>();
    const accesses: PrivateAccessEntry[] = [];
    const emergencies: PrivateEmergencyEntry[] = [];
    for (const log of consentLogs.filter((l) => mine(l.topics[1]))) {
      const parsed = consentsInterface.parseLog({ topics: [...log.topics], data: log.data });
      if (!parsed) continue;
      const a = parsed.args;
      const account = getAddress(a.patient);
      const origin = { blockNumber: log.blockNumber, txHash: log.transactionHash, logIndex: log.index, timestamp: 0 };
      const list = events.get(account) ?? [];
      events.set(account, list);
      const by = { by: account, actor: "patient" as const, patient: account };
      switch (parsed.name) {
        case "ConsentGranted":
          list.push({
            ...origin,
            ...by,
            kind: "ConsentGranted",
            grantee: getAddress(a.grantee),
            category: String(a.category),
            purposeMask: Number(a.purposes),
            purposes: [],
            actionMask: Number(a.actions),
            actions: [],
            notBefore: Number(a.notBefore),
            expiresAt: Number(a.expiresAt),
            signed: Boolean(a.signed),
          });
          break;
        case "ConsentRevoked":
          list.push({
            ...origin,
            ...by,
            kind: "ConsentRevoked",
            grantee: getAddress(a.grantee),
            category: String(a.category),
            signed: Boolean(a.signed),
          });
          break;
        case "ConsentDenied":
          list.push({
            ...origin,
            ...by,
            kind: "ConsentDenied",
            grantee: getAddress(a.grantee),
            category: String(a.category),
          });
          break;
        case "AllConsentsRevoked":
          list.push({ ...origin, ...by, kind: "AllConsentsRevoked", epoch: Number(a.epoch) });
          break;
        case "AccessRecorded":
          accesses.push({
            account,
            grantee: getAddress(a.grantee),
            category: String(a.category),
            purpose: Purpose[Number(a.purpose)] as keyof typeof Purpose,
            action: Action[Number(a.action)].toLowerCase() as Lowercase<keyof typeof Action>,
            recordId: String(a.recordId),
            blockNumber: log.blockNumber,
            txHash: log.transactionHash,
          });
          break;
        case "EmergencyAccessOpened":
          emergencies.push({
            account,
            provider: getAddress(a.provider),
            openedAt: Number(a.openedAt),
            expiresAt: Number(a.expiresAt),
            blockNumber: log.blockNumber,
            txHash: log.transactionHash,
          });
          break;
        default:
          break;
      }
    }

    // Grantees that are no registered provider: name their ids too.
    for (const [account, list] of events) {
      for (const event of list) if ("grantee" in event) names.add(event.grantee, account);
    }
    for (const access of accesses) {
      names.add(access.grantee, access.account);
      const id = await this.client.providerIdOf(access.grantee);
      if (id !== access.grantee) names.add(id, access.account);
    }

    const consents: PrivateConsentEntry[] = [];
    for (const [account, list] of events) {
      for (const c of replayConsents(list, latest.timestamp)) {
        consents.push({
          account,
          accountKind: kindOf.get(account.toLowerCase())?.kind ?? "main",
          grantee: c.grantee,
          category: c.category,
          ...withName(names.name(c.category)),
          consent: c.consent,
          status: c.status,
        });
      }
    }

    // A record's status from the events alone (no recordOf per record, which would tell the node which records are
    // the patient's): retracted once RecordRetracted names it, else superseded once a later record supersedes it.
    const myRecordLogs = recordLogs
      .filter((l) => mine(l.topics[2]))
      .map((log) => ({ log, parsed: recordsInterface.parseLog({ topics: [...log.topics], data: log.data }) }));
    const retracted = new Set<string>();
    const superseded = new Set<string>();
    for (const { parsed } of myRecordLogs) {
      if (parsed?.name === "RecordRetracted") retracted.add(String(parsed.args.recordId));
      if (parsed?.name === "RecordAnchored" && parsed.args.supersedes !== ZeroHash)
        superseded.add(String(parsed.args.supersedes));
    }
    const records: PrivateRecordEntry[] = [];
    for (const { log, parsed } of myRecordLogs) {
      if (parsed?.name !== "RecordAnchored") continue;
      const a = parsed.args;
      const account = getAddress(a.patient);
      const anchoredBy = getAddress(a.anchoredBy);
      if (anchoredBy !== account) {
        names.add(anchoredBy, account);
        names.add(await this.client.providerIdOf(anchoredBy), account);
      }
      const id = String(a.recordId);
      records.push({
        account,
        recordId: id,
        category: String(a.category),
        ...withName(names.name(String(a.category))),
        contentHash: String(a.contentHash),
        anchoredBy,
        uri: String(a.uri),
        status: retracted.has(id)
          ? RecordStatus.Retracted
          : superseded.has(id)
            ? RecordStatus.Superseded
            : RecordStatus.Active,
        blockNumber: log.blockNumber,
        txHash: log.transactionHash,
      });
    }

    return {
      accounts,
      consents,
      accesses: accesses.map((x) => ({ ...x, ...withName(names.name(x.category)) })),
      emergencies,
      records,
      block: latest.number,
      timestamp: latest.timestamp,
    };
  }

  // -----------------------------------------------------------------------------------------------------------
  // Revoking everything
  // -----------------------------------------------------------------------------------------------------------

  /**
   * Signs one revocation for every permit in force or pending, of the main account and of every pseudonym, each by
   * its own account: nothing is sent. Submit them with {@link submitRevocations}, each in its own transaction, so no
   * transaction names two of the patient's accounts. `pseudonymsOnly` leaves out the main account's permits (which it
   * can end itself: see {@link revokeEverything}).
   */
  async signRevocationsOfEverything(opts: {
    deadline: number | bigint;
    pseudonymsOnly?: boolean;
  }): Promise<PrivateSignedRevoke[]> {
    const listing = await this.list();
    const live = livePermits(listing).filter((c) => !opts.pseudonymsOnly || c.account !== this.mainAccount);
    return this.signRevocations(listing, live, opts.deadline);
  }

  /**
   * Revokes everything across every relationship: the main account ends its own permits with one `revokeAll`
   * (a transaction it sends, naming only itself, which also cancels its unsubmitted signatures), and every
   * pseudonym's permits are revoked by signatures `relayer` submits, each in its own transaction. The relayer never
   * handles the main account, so nothing it sends names it. The relayer must not be the main account.
   */
  async revokeEverything(
    relayer: ConsentClient,
    opts: { deadline: number | bigint },
  ): Promise<{
    main?: ContractTransactionReceipt;
    mainPermits: PrivateConsentEntry[];
    submitted: { signed: SignedRevoke; transaction: string }[];
    skipped: { signed: SignedRevoke; reason: string }[];
  }> {
    if (getAddress(await relayer.address()) === this.mainAccount) {
      throw new Error("The relayer is the patient's main account: its transactions naming a pseudonym would link them");
    }
    const listing = await this.list();
    const live = livePermits(listing);
    const mainPermits = live.filter((c) => c.account === this.mainAccount);
    const main = mainPermits.length > 0 ? await this.client.revokeAll() : undefined;
    const signed = await this.signRevocations(
      listing,
      live.filter((c) => c.account !== this.mainAccount),
      opts.deadline,
    );
    return { ...(main ? { main } : {}), mainPermits, ...(await submitRevocations(relayer, signed)) };
  }

  /** One signed revocation of each of `permits` (from `listing`), each by the account that holds it. */
  private async signRevocations(
    listing: PrivateListing,
    permits: PrivateConsentEntry[],
    deadline: number | bigint,
  ): Promise<PrivateSignedRevoke[]> {
    const signed: PrivateSignedRevoke[] = [];
    for (const c of permits) {
      const providerId = listing.accounts.find((a) => a.account === c.account)?.providerId;
      const s = await this.client.signRevoke(
        { grantee: c.grantee, category: c.category, patient: c.account },
        { deadline, ...(providerId ? { signer: this.pseudonym(providerId) } : {}) },
      );
      signed.push({ ...s, ...(c.categoryCode ? { categoryCode: c.categoryCode } : {}) });
    }
    return signed;
  }
}

/** The permits of a listing in force or pending: what revoking everything ends. */
export function livePermits(listing: Pick<PrivateListing, "consents">): PrivateConsentEntry[] {
  return listing.consents.filter(
    (c) =>
      c.consent.decision === Decision.Permit &&
      (c.status === ConsentStatus.Active || c.status === ConsentStatus.Pending),
  );
}

function withName(code: string | undefined): { categoryCode?: string } {
  return code === undefined ? {} : { categoryCode: code };
}

/**
 * Submits signed revocations with `relayer` (who pays), each in its own transaction and in a random order, so no
 * transaction names two accounts. A revocation whose permit is already gone is skipped and reported.
 */
export async function submitRevocations(
  relayer: ConsentClient,
  signed: readonly SignedRevoke[],
): Promise<{
  submitted: { signed: SignedRevoke; transaction: string }[];
  skipped: { signed: SignedRevoke; reason: string }[];
}> {
  const order = [...signed];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const submitted: { signed: SignedRevoke; transaction: string }[] = [];
  const skipped: { signed: SignedRevoke; reason: string }[] = [];
  for (const s of order) {
    try {
      const receipt = await relayer.submitSignedRevoke(s);
      submitted.push({ signed: s, transaction: receipt.hash });
    } catch (error) {
      skipped.push({ signed: s, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { submitted, skipped };
}

/** The private id a grantee computes from its relationship for `code` (`*` stays ANY_CATEGORY). */
export function relationshipCategoryId(relationship: Pick<GranteeRelationship, "key">, code: string): string {
  return code === "*" ? ANY_CATEGORY : privateCategoryId(relationship.key, code);
}

/** The public key of the account that signed `signed` (for an ordinary wallet): encrypt records to it. */
export function publicKeyOfSignedGrant(signed: SignedGrant): string {
  const domain = consentDomain(signed.chainId, signed.registry);
  const digest = grantDigest(domain, signed.request, BigInt(signed.nonce), BigInt(signed.deadline));
  const publicKey = signerPublicKey(digest, signed.signature);
  if (computeAddress(publicKey) !== getAddress(signed.request.patient)) {
    throw new Error("The signed grant was not signed by its patient's own key (a contract wallet?)");
  }
  return SigningKey.computePublicKey(publicKey, true);
}
