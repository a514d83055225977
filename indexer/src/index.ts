/**
 * The event handlers: each event of the three registries updates the tables of ponder.schema.ts. Handlers run in
 * chain order (block, then log index), once per event; Ponder keeps their writes and the checkpoint in one
 * transaction, so a restarted indexer resumes where it stopped, without duplicates or gaps.
 */
import { ponder, type Context } from "ponder:registry";
import {
  access,
  batch,
  batchItemRetraction,
  consent,
  consentEvent,
  delegate,
  emergencyWindow,
  latestWindow,
  patient,
  patientEvent,
  provider,
  providerEvent,
  providerKey,
  record,
} from "ponder:schema";
import { and, eq } from "ponder";
import { getAddress, zeroAddress, zeroHash, type Hex } from "viem";

type Address = `0x${string}`;

/** Decision codes as the contract stores them. */
const PERMIT = 1;
const DENY = 2;
const REVOKED = 3;

/** The row id of an event: block number and log index, zero-padded so that ids sort in chain order. */
function eventId(blockNumber: bigint, logIndex: number): string {
  return `${blockNumber.toString().padStart(12, "0")}-${logIndex.toString().padStart(6, "0")}`;
}

/** The role of `by` in a change to `who`'s consents (as the SDK's changeActor says). */
function actorOf(who: Address, by: Address, signed: boolean): string {
  const own = getAddress(by) === getAddress(who);
  if (signed) return own ? "patient" : "relayer";
  return own ? "patient" : "delegate";
}

/** Event arguments as JSON: bigints become numbers (every number of these events fits in 53 bits). */
function jsonArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) out[key] = typeof value === "bigint" ? Number(value) : value;
  return out;
}

interface AnyEvent {
  args: Record<string, unknown> & { patient: Address };
  block: { number: bigint; timestamp: bigint };
  log: { logIndex: number };
  transaction: { hash: Hex };
}

/** The patient's row, created with the contract's defaults on first sight. */
async function patientRow(context: Context, who: Address) {
  const row = await context.db.find(patient, { address: who });
  if (row) return row;
  return context.db
    .insert(patient)
    .values({ address: who, epoch: 0n, signatureEpoch: 0n, emergencyAllowed: true, eventCount: 0 });
}

/** Every consent-registry event goes to the patient's event list, in chain order. */
async function logPatientEvent(context: Context, kind: string, event: AnyEvent) {
  const who = event.args.patient;
  const row = await patientRow(context, who);
  await context.db.update(patient, { address: who }).set({ eventCount: row.eventCount + 1 });
  await context.db.insert(patientEvent).values({
    id: eventId(event.block.number, event.log.logIndex),
    patient: who,
    kind,
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    timestamp: event.block.timestamp,
    txHash: event.transaction.hash,
    args: jsonArgs(event.args),
  });
}

/** A consent change with who acted. */
async function logConsentEvent(
  context: Context,
  kind: string,
  event: AnyEvent,
  fields: {
    by: Address;
    signed?: boolean;
    grantee?: Address;
    category?: Hex;
    purposes?: number;
    actions?: number;
    notBefore?: bigint;
    expiresAt?: bigint;
    epoch?: bigint;
  },
) {
  const signed = fields.signed ?? false;
  await context.db.insert(consentEvent).values({
    id: eventId(event.block.number, event.log.logIndex),
    patient: event.args.patient,
    kind,
    ...fields,
    signed,
    actor: actorOf(event.args.patient, fields.by, signed),
    blockNumber: event.block.number,
    timestamp: event.block.timestamp,
    txHash: event.transaction.hash,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// ConsentRegistry
// ---------------------------------------------------------------------------------------------------------------

ponder.on("ConsentRegistry:ConsentGranted", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "ConsentGranted", event);
  const state = await patientRow(context, a.patient);
  const key = { patient: a.patient, grantee: a.grantee, category: a.category };
  const previous = await context.db.find(consent, key);
  const values = {
    purposes: a.purposes,
    actions: a.actions,
    notBefore: BigInt(a.notBefore),
    expiresAt: BigInt(a.expiresAt),
    issuedAt: event.block.timestamp,
    epoch: state.epoch,
    decision: PERMIT,
    sequence: (previous?.sequence ?? 0n) + 1n,
    status: "permit",
    updatedBlock: event.block.number,
  };
  await context.db
    .insert(consent)
    .values({ ...key, ...values })
    .onConflictDoUpdate(values);
  await logConsentEvent(context, "ConsentGranted", event, {
    by: a.by,
    signed: a.signed,
    grantee: a.grantee,
    category: a.category,
    purposes: a.purposes,
    actions: a.actions,
    notBefore: BigInt(a.notBefore),
    expiresAt: BigInt(a.expiresAt),
  });
});

ponder.on("ConsentRegistry:ConsentDenied", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "ConsentDenied", event);
  const key = { patient: a.patient, grantee: a.grantee, category: a.category };
  const previous = await context.db.find(consent, key);
  const values = {
    purposes: 0,
    actions: 0,
    notBefore: 0n,
    expiresAt: 0n,
    issuedAt: event.block.timestamp,
    epoch: 0n,
    decision: DENY,
    sequence: (previous?.sequence ?? 0n) + 1n,
    status: "denied",
    updatedBlock: event.block.number,
  };
  await context.db
    .insert(consent)
    .values({ ...key, ...values })
    .onConflictDoUpdate(values);
  await logConsentEvent(context, "ConsentDenied", event, { by: a.by, grantee: a.grantee, category: a.category });
});

ponder.on("ConsentRegistry:ConsentRevoked", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "ConsentRevoked", event);
  const key = { patient: a.patient, grantee: a.grantee, category: a.category };
  const previous = await context.db.find(consent, key);
  if (previous) {
    await context.db.update(consent, key).set({
      decision: REVOKED,
      sequence: previous.sequence + 1n,
      status: "revoked",
      updatedBlock: event.block.number,
    });
  }
  await logConsentEvent(context, "ConsentRevoked", event, {
    by: a.by,
    signed: a.signed,
    grantee: a.grantee,
    category: a.category,
  });
});

ponder.on("ConsentRegistry:AllConsentsRevoked", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "AllConsentsRevoked", event);
  await context.db.update(patient, { address: a.patient }).set({ epoch: BigInt(a.epoch) });
  // Every permit of an earlier epoch is revoked now: mark them, so that a row's status needs no replay.
  await context.db.sql
    .update(consent)
    .set({ status: "revoked", updatedBlock: event.block.number })
    .where(and(eq(consent.patient, a.patient), eq(consent.status, "permit")));
  await logConsentEvent(context, "AllConsentsRevoked", event, { by: a.by, epoch: BigInt(a.epoch) });
});

ponder.on("ConsentRegistry:SignaturesCancelled", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "SignaturesCancelled", event);
  await context.db.update(patient, { address: a.patient }).set({ signatureEpoch: BigInt(a.signatureEpoch) });
  await logConsentEvent(context, "SignaturesCancelled", event, { by: a.by, epoch: BigInt(a.signatureEpoch) });
});

ponder.on("ConsentRegistry:DelegateSet", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "DelegateSet", event);
  const values = { expiresAt: BigInt(a.expiresAt), active: true, setAt: event.block.timestamp, removedAt: null };
  await context.db
    .insert(delegate)
    .values({ patient: a.patient, delegate: a.delegate, ...values })
    .onConflictDoUpdate(values);
});

ponder.on("ConsentRegistry:DelegateRemoved", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "DelegateRemoved", event);
  const key = { patient: a.patient, delegate: a.delegate };
  if (await context.db.find(delegate, key)) {
    await context.db.update(delegate, key).set({ active: false, removedAt: event.block.timestamp });
  }
});

ponder.on("ConsentRegistry:EmergencyAccessSet", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "EmergencyAccessSet", event);
  await context.db.update(patient, { address: a.patient }).set({ emergencyAllowed: a.allowed });
  await logConsentEvent(context, "EmergencyAccessSet", event, { by: a.by });
});

ponder.on("ConsentRegistry:EmergencyAccessOpened", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "EmergencyAccessOpened", event);
  const id = eventId(event.block.number, event.log.logIndex);
  await context.db.insert(emergencyWindow).values({
    id,
    patient: a.patient,
    provider: a.provider,
    openedAt: BigInt(a.openedAt),
    expiresAt: BigInt(a.expiresAt),
    reasonHash: a.reasonHash,
    blockNumber: event.block.number,
    txHash: event.transaction.hash,
  });
  await context.db
    .insert(latestWindow)
    .values({ patient: a.patient, provider: a.provider, windowId: id })
    .onConflictDoUpdate({ windowId: id });
});

ponder.on("ConsentRegistry:EmergencyAccessClosed", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "EmergencyAccessClosed", event);
  const latest = await context.db.find(latestWindow, { patient: a.patient, provider: a.provider });
  if (latest) {
    await context.db
      .update(emergencyWindow, { id: latest.windowId })
      .set({ closedAt: event.block.timestamp, closedBy: a.by });
  }
});

ponder.on("ConsentRegistry:AccessRecorded", async ({ event, context }) => {
  const a = event.args;
  await logPatientEvent(context, "AccessRecorded", event);
  await context.db.insert(access).values({
    id: eventId(event.block.number, event.log.logIndex),
    patient: a.patient,
    grantee: a.grantee,
    category: a.category,
    purpose: a.purpose,
    action: a.action,
    recordId: a.recordId,
    blockNumber: event.block.number,
    timestamp: event.block.timestamp,
    txHash: event.transaction.hash,
  });
});

// ---------------------------------------------------------------------------------------------------------------
// ProviderRegistry
// ---------------------------------------------------------------------------------------------------------------

/** The stable id of a provider key (the key itself for an unknown one). */
async function providerIdOf(context: Context, key: Address): Promise<Address> {
  return (await context.db.find(providerKey, { key }))?.providerId ?? key;
}

interface ProviderEventBase {
  block: { number: bigint; timestamp: bigint };
  log: { logIndex: number };
  transaction: { hash: Hex };
}

async function logProviderEvent(
  context: Context,
  event: ProviderEventBase,
  fields: {
    providerId: Address;
    kind: string;
    key: Address;
    newKey?: Address;
    capabilities?: number;
    reasonHash?: Hex;
    registrar?: Address;
  },
) {
  await context.db.insert(providerEvent).values({
    id: eventId(event.block.number, event.log.logIndex),
    ...fields,
    blockNumber: event.block.number,
    timestamp: event.block.timestamp,
    txHash: event.transaction.hash,
  });
}

ponder.on("ProviderRegistry:ProviderRegistered", async ({ event, context }) => {
  const a = event.args;
  await context.db.insert(provider).values({
    id: a.provider,
    currentKey: a.provider,
    identifierHash: a.identifierHash,
    capabilities: a.capabilities,
    status: "active",
    metadataURI: a.metadataURI,
    registeredAt: event.block.timestamp,
    updatedBlock: event.block.number,
  });
  await context.db.insert(providerKey).values({
    key: a.provider,
    providerId: a.provider,
    addedAt: event.block.timestamp,
    txHash: event.transaction.hash,
  });
  await logProviderEvent(context, event, {
    providerId: a.provider,
    kind: "ProviderRegistered",
    key: a.provider,
    capabilities: a.capabilities,
    registrar: a.registrar,
  });
});

ponder.on("ProviderRegistry:CapabilitiesChanged", async ({ event, context }) => {
  const a = event.args;
  const id = await providerIdOf(context, a.provider);
  await context.db.update(provider, { id }).set({ capabilities: a.capabilities, updatedBlock: event.block.number });
  await logProviderEvent(context, event, {
    providerId: id,
    kind: "CapabilitiesChanged",
    key: a.provider,
    capabilities: a.capabilities,
    registrar: a.registrar,
  });
});

ponder.on("ProviderRegistry:ProviderSuspended", async ({ event, context }) => {
  const a = event.args;
  const id = await providerIdOf(context, a.provider);
  await context.db.update(provider, { id }).set({ status: "suspended", updatedBlock: event.block.number });
  await logProviderEvent(context, event, {
    providerId: id,
    kind: "ProviderSuspended",
    key: a.provider,
    reasonHash: a.reasonHash,
    registrar: a.registrar,
  });
});

ponder.on("ProviderRegistry:ProviderReinstated", async ({ event, context }) => {
  const a = event.args;
  const id = await providerIdOf(context, a.provider);
  await context.db.update(provider, { id }).set({ status: "active", updatedBlock: event.block.number });
  await logProviderEvent(context, event, {
    providerId: id,
    kind: "ProviderReinstated",
    key: a.provider,
    registrar: a.registrar,
  });
});

ponder.on("ProviderRegistry:KeyRotationProposed", async ({ event, context }) => {
  const a = event.args;
  await context.db
    .update(provider, { id: a.id })
    .set({ proposedKey: a.newKey === zeroAddress ? null : a.newKey, updatedBlock: event.block.number });
  await logProviderEvent(context, event, {
    providerId: a.id,
    kind: "KeyRotationProposed",
    key: a.currentKey,
    newKey: a.newKey,
  });
});

ponder.on("ProviderRegistry:KeyRotated", async ({ event, context }) => {
  const a = event.args;
  await context.db.update(provider, { id: a.id }).set({
    currentKey: a.newKey,
    proposedKey: null,
    updatedBlock: event.block.number,
  });
  await context.db.update(providerKey, { key: a.oldKey }).set({ retiredAt: event.block.timestamp });
  await context.db.insert(providerKey).values({
    key: a.newKey,
    providerId: a.id,
    addedAt: event.block.timestamp,
    txHash: event.transaction.hash,
  });
  await logProviderEvent(context, event, { providerId: a.id, kind: "KeyRotated", key: a.oldKey, newKey: a.newKey });
});

// ---------------------------------------------------------------------------------------------------------------
// RecordRegistry
// ---------------------------------------------------------------------------------------------------------------

ponder.on("RecordRegistry:RecordAnchored", async ({ event, context }) => {
  const a = event.args;
  let rootId: Hex = a.recordId;
  let version = 1;
  const supersedes = a.supersedes === zeroHash ? null : a.supersedes;
  if (supersedes) {
    const previous = await context.db.find(record, { id: supersedes });
    if (previous) {
      rootId = previous.rootId;
      version = previous.version + 1;
      await context.db.update(record, { id: supersedes }).set({ status: "superseded", supersededBy: a.recordId });
    }
  }
  await context.db.insert(record).values({
    id: a.recordId,
    patient: a.patient,
    category: a.category,
    contentHash: a.contentHash,
    anchoredBy: a.anchoredBy,
    uri: a.uri,
    supersedes,
    rootId,
    version,
    status: "active",
    anchoredAt: event.block.timestamp,
    blockNumber: event.block.number,
    txHash: event.transaction.hash,
  });
});

ponder.on("RecordRegistry:RecordRetracted", async ({ event, context }) => {
  const a = event.args;
  if (await context.db.find(record, { id: a.recordId })) {
    await context.db.update(record, { id: a.recordId }).set({
      status: "retracted",
      retractedAt: event.block.timestamp,
      retractedBy: a.by,
      retractionReasonHash: a.reasonHash,
    });
  }
});

ponder.on("RecordRegistry:BatchAnchored", async ({ event, context }) => {
  const a = event.args;
  await context.db.insert(batch).values({
    id: a.batchId,
    root: a.root,
    count: a.count,
    submitter: a.submitter,
    uri: a.uri,
    anchoredAt: event.block.timestamp,
    retractedItems: 0,
    txHash: event.transaction.hash,
  });
});

ponder.on("RecordRegistry:BatchItemRetracted", async ({ event, context }) => {
  const a = event.args;
  await context.db.insert(batchItemRetraction).values({
    id: `${a.batchId}-${a.leaf}`,
    batchId: a.batchId,
    leaf: a.leaf,
    patient: a.patient,
    reasonHash: a.reasonHash,
    by: a.by,
    retractedAt: event.block.timestamp,
    txHash: event.transaction.hash,
  });
  const row = await context.db.find(batch, { id: a.batchId });
  if (row) await context.db.update(batch, { id: a.batchId }).set({ retractedItems: row.retractedItems + 1 });
});
