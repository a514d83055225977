/**
 * A patient's consent history and access history, rebuilt from the consent registry's events (the registry keeps
 * only the latest state; the events carry every change). Logs are read in block ranges of `step` blocks, so public
 * RPC endpoints that cap the range of `eth_getLogs` work too.
 */
import { getAddress, zeroPadValue, type Log, type LogDescription, type Provider } from "ethers";

import type { ConsentRegistry } from "../typechain-types";
import { Action, ConsentStatus, Decision, Purpose, actionsOf, categoryCode, purposesOf } from "./codes";

/** Which blocks to read: `fromBlock` (default: the deployment block, else 0) to `toBlock` (default: the latest). */
export interface HistoryOptions {
  fromBlock?: number;
  toBlock?: number;
  /** Blocks per `eth_getLogs` request (default 5,000). */
  step?: number;
  /**
   * Where to read the events: the node's logs (the default, also for `"logs"`) or another source, such as an
   * indexer ({@link IndexerHistorySource} in history-source.ts). Every source returns the same typed events.
   */
  source?: HistorySource | "logs";
}

/**
 * A source of a patient's events other than the node's logs (an indexer). It returns, for `patient`, the consent
 * registry's events of `kinds` in [fromBlock, toBlock] (toBlock defaulting to the latest block it knows), oldest
 * first, exactly as the logs would give them; it may refuse when it cannot answer for the blocks asked.
 */
export interface HistorySource {
  readonly name: string;
  patientEvents(
    consents: ConsentRegistry,
    patient: string,
    kinds: readonly HistoryEventKind[],
    range: { fromBlock: number; toBlock?: number },
  ): Promise<HistoryEvent[]>;
}

export const DEFAULT_HISTORY_STEP = 5_000;

/** A purpose code ("TREAT"). */
export type PurposeCode = keyof typeof Purpose;
/** An action code as FHIR writes it ("access"). */
export type ActionCode = Lowercase<keyof typeof Action>;

/** Where and when an event happened. */
export interface EventOrigin {
  blockNumber: number;
  txHash: string;
  logIndex: number;
  /** The block's timestamp, in seconds. */
  timestamp: number;
  patient: string;
}

/** A category as the events carry it, with its code when known. */
export interface CategoryField {
  category: string;
  /** The category code ("laboratory", "*"), when the id is a known code's. */
  categoryCode?: string;
}

/**
 * Who sent a consent change: the patient, a delegate of the patient, or a relayer that submitted the patient's
 * signature. A patient submitting their own signature is "patient".
 */
export type ChangeActor = "patient" | "delegate" | "relayer";

/** Who sent a change: `by` is the account that sent the transaction (the event's `by`), `actor` its role. */
export interface ActedBy {
  by: string;
  actor: ChangeActor;
}

/**
 * The role of `by` in a change to `patient`'s consents: a relayed signature (`signed`) is the relayer's unless the
 * patient submitted it; otherwise the patient, or else a delegate (the registry lets no one else change consents).
 */
export function changeActor(patient: string, by: string, signed = false): ChangeActor {
  const ownAccount = getAddress(by) === getAddress(patient);
  if (signed) return ownAccount ? "patient" : "relayer";
  return ownAccount ? "patient" : "delegate";
}

export type ConsentGrantedEvent = EventOrigin &
  CategoryField &
  ActedBy & {
    kind: "ConsentGranted";
    grantee: string;
    purposeMask: number;
    purposes: PurposeCode[];
    actionMask: number;
    actions: ActionCode[];
    notBefore: number;
    expiresAt: number;
    /** Whether it was the patient's signature, submitted by `by`. */
    signed: boolean;
  };
/** A permit or deny withdrawn. `grantee` is the key it was kept under (a provider's stable id for a deny). */
export type ConsentRevokedEvent = EventOrigin &
  CategoryField &
  ActedBy & {
    kind: "ConsentRevoked";
    grantee: string;
    /** Whether it was the patient's signature, submitted by `by`. */
    signed: boolean;
  };
export type ConsentDeniedEvent = EventOrigin & CategoryField & ActedBy & { kind: "ConsentDenied"; grantee: string };
export type AllConsentsRevokedEvent = EventOrigin & ActedBy & { kind: "AllConsentsRevoked"; epoch: number };
/** Every signature of the patient not submitted yet was cancelled (by `cancelSignatures` or `revokeAll`). */
export type SignaturesCancelledEvent = EventOrigin &
  ActedBy & {
    kind: "SignaturesCancelled";
    /** The patient's new signature epoch: the high 128 bits of every nonce from now on. */
    signatureEpoch: number;
  };
export type DelegateSetEvent = EventOrigin & { kind: "DelegateSet"; delegate: string; expiresAt: number };
export type DelegateRemovedEvent = EventOrigin & { kind: "DelegateRemoved"; delegate: string };
export type EmergencyAccessSetEvent = EventOrigin & ActedBy & { kind: "EmergencyAccessSet"; allowed: boolean };
export type EmergencyAccessOpenedEvent = EventOrigin & {
  kind: "EmergencyAccessOpened";
  provider: string;
  openedAt: number;
  expiresAt: number;
  reasonHash: string;
};
export type EmergencyAccessClosedEvent = EventOrigin & ActedBy & { kind: "EmergencyAccessClosed"; provider: string };
export type AccessRecordedEvent = EventOrigin &
  CategoryField & {
    kind: "AccessRecorded";
    grantee: string;
    purpose: PurposeCode;
    action: ActionCode;
    recordId: string;
  };

/** Changes to a patient's consents, delegates and break-glass setting. */
export type ConsentHistoryEvent =
  | ConsentGrantedEvent
  | ConsentRevokedEvent
  | ConsentDeniedEvent
  | AllConsentsRevokedEvent
  | SignaturesCancelledEvent
  | DelegateSetEvent
  | DelegateRemovedEvent
  | EmergencyAccessSetEvent;

/** Accesses to a patient's data: recorded accesses and break-glass windows. */
export type AccessHistoryEvent = AccessRecordedEvent | EmergencyAccessOpenedEvent | EmergencyAccessClosedEvent;

/** Any event of a patient's history. */
export type HistoryEvent = ConsentHistoryEvent | AccessHistoryEvent;
export type HistoryEventKind = HistoryEvent["kind"];

export const CONSENT_EVENT_KINDS = [
  "ConsentGranted",
  "ConsentRevoked",
  "ConsentDenied",
  "AllConsentsRevoked",
  "SignaturesCancelled",
  "DelegateSet",
  "DelegateRemoved",
  "EmergencyAccessSet",
] as const satisfies readonly ConsentHistoryEvent["kind"][];

export const ACCESS_EVENT_KINDS = [
  "AccessRecorded",
  "EmergencyAccessOpened",
  "EmergencyAccessClosed",
] as const satisfies readonly AccessHistoryEvent["kind"][];

/** A consent as `consentOf` returns it, with plain numbers. */
export interface ConsentView {
  purposes: number;
  actions: number;
  notBefore: number;
  expiresAt: number;
  issuedAt: number;
  epoch: number;
  decision: Decision;
  /** How many decisions were made on this key: the low half of its next signature nonce. */
  sequence: number;
}

/** One stored consent rebuilt from the events: what `consentOf(patient, grantee, category)` should return. */
export interface CurrentConsent extends CategoryField {
  grantee: string;
  consent: ConsentView;
  status: ConsentStatus;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading logs
// ---------------------------------------------------------------------------------------------------------------

function providerOf(consents: ConsentRegistry): Provider {
  const provider = consents.runner?.provider;
  if (!provider) throw new Error("Reading the history needs a provider: connect the client with a signer or provider");
  return provider;
}

function checkStep(step: number): number {
  if (!Number.isSafeInteger(step) || step < 1) throw new Error(`Invalid history step ${step}: use a whole number >= 1`);
  return step;
}

const RANGE_LIMIT = /range|limit|too (many|large|big)|exceed|10000|max(imum)? (block|result)|query returned more/i;

/**
 * `eth_getLogs` over [fromBlock, toBlock] in ranges of `step` blocks. A range the node refuses as too large is
 * split in two and retried, so a too-large `step` still works on a capped endpoint.
 */
export async function getLogsPaged(
  provider: Provider,
  filter: { address: string; topics: (string | string[] | null)[] },
  fromBlock: number,
  toBlock: number,
  step: number = DEFAULT_HISTORY_STEP,
): Promise<Log[]> {
  checkStep(step);
  const logs: Log[] = [];
  const range = async (from: number, to: number): Promise<void> => {
    try {
      logs.push(...(await provider.getLogs({ ...filter, fromBlock: from, toBlock: to })));
    } catch (error) {
      if (to <= from || !RANGE_LIMIT.test(error instanceof Error ? error.message : String(error))) throw error;
      const middle = from + Math.floor((to - from) / 2);
      await range(from, middle);
      await range(middle + 1, to);
    }
  };
  for (let from = fromBlock; from <= toBlock; from += step) {
    await range(from, Math.min(from + step - 1, toBlock));
  }
  return logs;
}

async function blockTimestamps(provider: Provider, blockNumbers: number[]): Promise<Map<number, number>> {
  const unique = [...new Set(blockNumbers)];
  const timestamps = new Map<number, number>();
  const batch = 10;
  for (let i = 0; i < unique.length; i += batch) {
    await Promise.all(
      unique.slice(i, i + batch).map(async (n) => {
        const block = await provider.getBlock(n);
        if (!block) throw new Error(`Block ${n} is not available from the provider`);
        timestamps.set(n, block.timestamp);
      }),
    );
  }
  return timestamps;
}

function category(id: string): CategoryField {
  const code = categoryCode(id);
  return code === undefined ? { category: id } : { category: id, categoryCode: code };
}

function purposeCodes(mask: number): PurposeCode[] {
  return purposesOf(mask).map((p) => Purpose[p] as PurposeCode);
}

function actionCodes(mask: number): ActionCode[] {
  return actionsOf(mask).map((a) => Action[a].toLowerCase() as ActionCode);
}

/**
 * The typed event of one parsed log (or of an event's name and decoded arguments, as an indexer keeps them: `args`
 * needs only the named fields).
 */
export function toEvent(parsed: LogDescription, origin: EventOrigin): HistoryEvent | undefined {
  const a = parsed.args;
  const acted = (signed = false): ActedBy => {
    const by = getAddress(a.by);
    return { by, actor: changeActor(origin.patient, by, signed) };
  };
  switch (parsed.name) {
    case "ConsentGranted":
      return {
        ...origin,
        kind: "ConsentGranted",
        grantee: getAddress(a.grantee),
        ...category(a.category),
        purposeMask: Number(a.purposes),
        purposes: purposeCodes(Number(a.purposes)),
        actionMask: Number(a.actions),
        actions: actionCodes(Number(a.actions)),
        notBefore: Number(a.notBefore),
        expiresAt: Number(a.expiresAt),
        ...acted(Boolean(a.signed)),
        signed: Boolean(a.signed),
      };
    case "ConsentRevoked":
      return {
        ...origin,
        kind: "ConsentRevoked",
        grantee: getAddress(a.grantee),
        ...category(a.category),
        ...acted(Boolean(a.signed)),
        signed: Boolean(a.signed),
      };
    case "ConsentDenied":
      return { ...origin, kind: "ConsentDenied", grantee: getAddress(a.grantee), ...category(a.category), ...acted() };
    case "AllConsentsRevoked":
      return { ...origin, kind: "AllConsentsRevoked", epoch: Number(a.epoch), ...acted() };
    case "SignaturesCancelled":
      return { ...origin, kind: "SignaturesCancelled", signatureEpoch: Number(a.signatureEpoch), ...acted() };
    case "DelegateSet":
      return { ...origin, kind: "DelegateSet", delegate: getAddress(a.delegate), expiresAt: Number(a.expiresAt) };
    case "DelegateRemoved":
      return { ...origin, kind: "DelegateRemoved", delegate: getAddress(a.delegate) };
    case "EmergencyAccessSet":
      return { ...origin, kind: "EmergencyAccessSet", allowed: Boolean(a.allowed), ...acted() };
    case "EmergencyAccessOpened":
      return {
        ...origin,
        kind: "EmergencyAccessOpened",
        provider: getAddress(a.provider),
        openedAt: Number(a.openedAt),
        expiresAt: Number(a.expiresAt),
        reasonHash: String(a.reasonHash),
      };
    case "EmergencyAccessClosed":
      return { ...origin, kind: "EmergencyAccessClosed", provider: getAddress(a.provider), ...acted() };
    case "AccessRecorded":
      return {
        ...origin,
        kind: "AccessRecorded",
        grantee: getAddress(a.grantee),
        ...category(a.category),
        purpose: Purpose[Number(a.purpose)] as PurposeCode,
        action: Action[Number(a.action)].toLowerCase() as ActionCode,
        recordId: String(a.recordId),
      };
    default:
      return undefined;
  }
}

/**
 * The number of the latest block, asked of the node itself: ethers' `getBlockNumber()` may answer from a cache up to
 * 250 ms old, which would leave out a transaction mined just before the history is read.
 */
async function latestBlockNumber(provider: Provider): Promise<number> {
  const block = await provider.getBlock("latest");
  if (block === null) throw new Error("The node returned no latest block");
  return block.number;
}

/** The block range to read: options, else `defaultFromBlock` to the latest block. */
async function blockRange(
  provider: Provider,
  options: HistoryOptions,
  defaultFromBlock: number,
): Promise<{ fromBlock: number; toBlock: number }> {
  const fromBlock = options.fromBlock ?? defaultFromBlock;
  const toBlock = options.toBlock ?? (await latestBlockNumber(provider));
  for (const [name, value] of [
    ["fromBlock", fromBlock],
    ["toBlock", toBlock],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`Invalid ${name} ${value}: use a block number`);
  }
  return { fromBlock, toBlock };
}

/**
 * The events of `kinds` the consent registry emitted for `patient` (the first indexed parameter of each), oldest
 * first (by block, then log index), with their block timestamps.
 */
export async function patientEvents<K extends HistoryEventKind>(
  consents: ConsentRegistry,
  patient: string,
  kinds: readonly K[],
  options: HistoryOptions = {},
  defaultFromBlock = 0,
): Promise<Extract<HistoryEvent, { kind: K }>[]> {
  if (options.source !== undefined && options.source !== "logs") {
    const fromBlock = options.fromBlock ?? defaultFromBlock;
    const events = await options.source.patientEvents(consents, getAddress(patient), kinds, {
      fromBlock,
      toBlock: options.toBlock,
    });
    return events as Extract<HistoryEvent, { kind: K }>[];
  }
  const provider = providerOf(consents);
  const { fromBlock, toBlock } = await blockRange(provider, options, defaultFromBlock);
  if (toBlock < fromBlock) return [];
  const topics = kinds.map((kind) => consents.interface.getEvent(kind).topicHash);
  const logs = await getLogsPaged(
    provider,
    { address: await consents.getAddress(), topics: [topics, zeroPadValue(getAddress(patient), 32)] },
    fromBlock,
    toBlock,
    options.step ?? DEFAULT_HISTORY_STEP,
  );
  const timestamps = await blockTimestamps(
    provider,
    logs.map((log) => log.blockNumber),
  );
  const events: HistoryEvent[] = [];
  for (const log of logs) {
    const parsed = consents.interface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) continue;
    const event = toEvent(parsed, {
      blockNumber: log.blockNumber,
      txHash: log.transactionHash,
      logIndex: log.index,
      timestamp: timestamps.get(log.blockNumber) ?? 0,
      patient: getAddress(patient),
    });
    if (event && (kinds as readonly string[]).includes(event.kind)) events.push(event);
  }
  events.sort((x, y) => x.blockNumber - y.blockNumber || x.logIndex - y.logIndex);
  return events as Extract<HistoryEvent, { kind: K }>[];
}

/** `patient`'s consent history: grants, revocations, denies, revoke-alls, delegates, break-glass settings. */
export function consentHistory(
  consents: ConsentRegistry,
  patient: string,
  options: HistoryOptions = {},
  defaultFromBlock = 0,
): Promise<ConsentHistoryEvent[]> {
  return patientEvents(consents, patient, CONSENT_EVENT_KINDS, options, defaultFromBlock);
}

/** `patient`'s access history (accounting of disclosures): recorded accesses and break-glass windows. */
export function accessHistory(
  consents: ConsentRegistry,
  patient: string,
  options: HistoryOptions = {},
  defaultFromBlock = 0,
): Promise<AccessHistoryEvent[]> {
  return patientEvents(consents, patient, ACCESS_EVENT_KINDS, options, defaultFromBlock);
}

// ---------------------------------------------------------------------------------------------------------------
// Current consents
// ---------------------------------------------------------------------------------------------------------------

/** The status the contract gives a stored consent in `epoch` at time `now` (`ConsentRegistry._statusOf`). */
export function consentStatus(consent: ConsentView, epoch: number, now: number): ConsentStatus {
  if (consent.decision === Decision.None) return ConsentStatus.None;
  if (consent.decision === Decision.Deny) return ConsentStatus.Denied;
  if (consent.decision === Decision.Revoked || consent.epoch !== epoch) return ConsentStatus.Revoked;
  if (now < consent.notBefore) return ConsentStatus.Pending;
  if (now >= consent.expiresAt) return ConsentStatus.Expired;
  return ConsentStatus.Active;
}

/**
 * The consents stored for a patient, replayed from a complete consent history (from the deployment block): the
 * latest write per (grantee key, category), with `revokeAll` epochs applied, each key's decision count (`sequence`),
 * and their status at time `now`. Keys are the events' `grantee` (the address as given for permits, the provider id
 * for denies), so each entry is what `consentOf(patient, grantee, category)` returns for that exact key.
 *
 * One thing no event shows: a signed revocation naming a rotated provider key whose consent was kept under the
 * provider's id also moves on the sequence of the key as signed. A key that holds a consent of its own and was
 * named so is then one behind here; `signatureNonce` on-chain is always exact.
 */
export function replayConsents(events: readonly HistoryEvent[], now: number): CurrentConsent[] {
  let epoch = 0;
  const slots = new Map<string, { grantee: string; field: CategoryField; consent: ConsentView }>();
  const keyOf = (grantee: string, id: string) => `${grantee.toLowerCase()}:${id.toLowerCase()}`;
  const write = (grantee: string, id: string, consent: Omit<ConsentView, "sequence">): void => {
    const key = keyOf(grantee, id);
    const sequence = (slots.get(key)?.consent.sequence ?? 0) + 1;
    slots.set(key, { grantee, field: category(id), consent: { ...consent, sequence } });
  };
  const ordered = [...events].sort((x, y) => x.blockNumber - y.blockNumber || x.logIndex - y.logIndex);
  for (const event of ordered) {
    switch (event.kind) {
      case "AllConsentsRevoked":
        epoch = event.epoch;
        break;
      case "ConsentGranted":
        write(event.grantee, event.category, {
          purposes: event.purposeMask,
          actions: event.actionMask,
          notBefore: event.notBefore,
          expiresAt: event.expiresAt,
          issuedAt: event.timestamp,
          epoch,
          decision: Decision.Permit,
        });
        break;
      case "ConsentDenied":
        write(event.grantee, event.category, {
          purposes: 0,
          actions: 0,
          notBefore: 0,
          expiresAt: 0,
          issuedAt: event.timestamp,
          epoch: 0,
          decision: Decision.Deny,
        });
        break;
      case "ConsentRevoked": {
        const slot = slots.get(keyOf(event.grantee, event.category));
        if (slot) {
          slot.consent = { ...slot.consent, decision: Decision.Revoked, sequence: slot.consent.sequence + 1 };
        }
        break;
      }
      default:
        break;
    }
  }
  return [...slots.values()].map(({ grantee, field, consent }) => ({
    grantee,
    ...field,
    consent,
    status: consentStatus(consent, epoch, now),
  }));
}

/**
 * The consents stored for `patient` as the events say, with their status at the time of the last block read. Read
 * from the deployment block (the default) for a complete picture: a later `fromBlock` misses earlier consents.
 */
export async function currentConsents(
  consents: ConsentRegistry,
  patient: string,
  options: HistoryOptions = {},
  defaultFromBlock = 0,
): Promise<CurrentConsent[]> {
  const provider = providerOf(consents);
  const toBlock = options.toBlock ?? (await latestBlockNumber(provider));
  const events = await patientEvents(
    consents,
    patient,
    ["ConsentGranted", "ConsentRevoked", "ConsentDenied", "AllConsentsRevoked"] as const,
    { ...options, toBlock },
    defaultFromBlock,
  );
  const block = await provider.getBlock(toBlock);
  if (!block) throw new Error(`Block ${toBlock} is not available from the provider`);
  return replayConsents(events, block.timestamp);
}
