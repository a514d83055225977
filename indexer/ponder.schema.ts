/**
 * The indexer's tables. Addresses are checksummed hex, numbers of the chain (block numbers, times in seconds, epochs,
 * batch ids) are bigint, masks are integers. Every table is read-only from outside: only the event handlers in
 * src/index.ts write.
 */
import { index, onchainTable, primaryKey, relations } from "ponder";

/** One row per patient seen: the epochs that decide whether a permit still holds. */
export const patient = onchainTable("patient", (t) => ({
  address: t.hex().primaryKey(),
  /** The revokeAll epoch: a permit written in an earlier epoch is revoked. */
  epoch: t.bigint().notNull(),
  signatureEpoch: t.bigint().notNull(),
  /** Whether break-glass access is allowed (the default) or refused. */
  emergencyAllowed: t.boolean().notNull(),
  eventCount: t.integer().notNull(),
}));

/**
 * The current consent of each (patient, grantee key, category): what `consentOf` returns for that exact key. The key
 * is the grantee as the event names it: the address as given for a permit, the provider's stable id for a deny.
 * `status` is "permit", "denied" or "revoked" (a revoke, or a revokeAll since the permit was written); a permit is
 * Active, Pending or Expired depending on the time against `notBefore` and `expiresAt`.
 */
export const consent = onchainTable(
  "consent",
  (t) => ({
    patient: t.hex().notNull(),
    grantee: t.hex().notNull(),
    category: t.hex().notNull(),
    purposes: t.integer().notNull(),
    actions: t.integer().notNull(),
    notBefore: t.bigint().notNull(),
    expiresAt: t.bigint().notNull(),
    issuedAt: t.bigint().notNull(),
    epoch: t.bigint().notNull(),
    /** Decision as the contract stores it: 1 Permit, 2 Deny, 3 Revoked. */
    decision: t.integer().notNull(),
    sequence: t.bigint().notNull(),
    status: t.text().notNull(),
    updatedBlock: t.bigint().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.patient, table.grantee, table.category] }),
    patientIdx: index().on(table.patient),
  }),
);

/** Every consent change, with who acted: `by` sent it, `actor` is "patient", "delegate" or "relayer". */
export const consentEvent = onchainTable(
  "consent_event",
  (t) => ({
    id: t.text().primaryKey(),
    patient: t.hex().notNull(),
    kind: t.text().notNull(),
    grantee: t.hex(),
    category: t.hex(),
    purposes: t.integer(),
    actions: t.integer(),
    notBefore: t.bigint(),
    expiresAt: t.bigint(),
    epoch: t.bigint(),
    by: t.hex().notNull(),
    actor: t.text().notNull(),
    signed: t.boolean().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ patientIdx: index().on(table.patient, table.id) }),
);

/** Recorded accesses (the accounting of disclosures). */
export const access = onchainTable(
  "access",
  (t) => ({
    id: t.text().primaryKey(),
    patient: t.hex().notNull(),
    grantee: t.hex().notNull(),
    category: t.hex().notNull(),
    purpose: t.integer().notNull(),
    action: t.integer().notNull(),
    recordId: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ patientIdx: index().on(table.patient, table.id) }),
);

/** Break-glass windows: opened by a provider, closed early by the patient or a delegate, or left to expire. */
export const emergencyWindow = onchainTable(
  "emergency_window",
  (t) => ({
    id: t.text().primaryKey(),
    patient: t.hex().notNull(),
    provider: t.hex().notNull(),
    openedAt: t.bigint().notNull(),
    expiresAt: t.bigint().notNull(),
    reasonHash: t.hex().notNull(),
    closedAt: t.bigint(),
    closedBy: t.hex(),
    blockNumber: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ patientIdx: index().on(table.patient, table.provider) }),
);

/** The latest window of each (patient, provider), so that a close finds it without a scan. */
export const latestWindow = onchainTable(
  "latest_window",
  (t) => ({ patient: t.hex().notNull(), provider: t.hex().notNull(), windowId: t.text().notNull() }),
  (table) => ({ pk: primaryKey({ columns: [table.patient, table.provider] }) }),
);

/** Delegates, current and removed. */
export const delegate = onchainTable(
  "delegate",
  (t) => ({
    patient: t.hex().notNull(),
    delegate: t.hex().notNull(),
    expiresAt: t.bigint().notNull(),
    active: t.boolean().notNull(),
    setAt: t.bigint().notNull(),
    removedAt: t.bigint(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.patient, table.delegate] }) }),
);

/** Providers by stable id, with their current key, capabilities and status ("active", "suspended"). */
export const provider = onchainTable("provider", (t) => ({
  id: t.hex().primaryKey(),
  currentKey: t.hex().notNull(),
  proposedKey: t.hex(),
  identifierHash: t.hex().notNull(),
  capabilities: t.integer().notNull(),
  status: t.text().notNull(),
  metadataURI: t.text().notNull(),
  registeredAt: t.bigint().notNull(),
  updatedBlock: t.bigint().notNull(),
}));

/** Every key a provider had: its id first, then each accepted rotation; `retiredAt` is set when one replaced it. */
export const providerKey = onchainTable(
  "provider_key",
  (t) => ({
    key: t.hex().primaryKey(),
    providerId: t.hex().notNull(),
    addedAt: t.bigint().notNull(),
    retiredAt: t.bigint(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ providerIdx: index().on(table.providerId) }),
);

/** The provider directory's changes: registration, capabilities, suspension, reinstatement, key proposals and rotations. */
export const providerEvent = onchainTable(
  "provider_event",
  (t) => ({
    id: t.text().primaryKey(),
    providerId: t.hex().notNull(),
    kind: t.text().notNull(),
    key: t.hex().notNull(),
    newKey: t.hex(),
    capabilities: t.integer(),
    reasonHash: t.hex(),
    registrar: t.hex(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ providerIdx: index().on(table.providerId, table.id) }),
);

/**
 * Anchored records with their version chain: `rootId` is the first version's id, `version` counts from 1,
 * `supersedes`/`supersededBy` link the neighbours. `status` is "active", "superseded" or "retracted".
 */
export const record = onchainTable(
  "record",
  (t) => ({
    id: t.hex().primaryKey(),
    patient: t.hex().notNull(),
    category: t.hex().notNull(),
    contentHash: t.hex().notNull(),
    anchoredBy: t.hex().notNull(),
    uri: t.text().notNull(),
    supersedes: t.hex(),
    supersededBy: t.hex(),
    rootId: t.hex().notNull(),
    version: t.integer().notNull(),
    status: t.text().notNull(),
    anchoredAt: t.bigint().notNull(),
    retractedAt: t.bigint(),
    retractedBy: t.hex(),
    retractionReasonHash: t.hex(),
    blockNumber: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ patientIdx: index().on(table.patient), rootIdx: index().on(table.rootId) }),
);

/** Merkle batches. */
export const batch = onchainTable("batch", (t) => ({
  id: t.bigint().primaryKey(),
  root: t.hex().notNull(),
  count: t.integer().notNull(),
  submitter: t.hex().notNull(),
  uri: t.text().notNull(),
  anchoredAt: t.bigint().notNull(),
  retractedItems: t.integer().notNull(),
  txHash: t.hex().notNull(),
}));

/** Items retracted from a batch by their patient (or a delegate). */
export const batchItemRetraction = onchainTable(
  "batch_item_retraction",
  (t) => ({
    id: t.text().primaryKey(),
    batchId: t.bigint().notNull(),
    leaf: t.hex().notNull(),
    patient: t.hex().notNull(),
    reasonHash: t.hex().notNull(),
    by: t.hex().notNull(),
    retractedAt: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ batchIdx: index().on(table.batchId), patientIdx: index().on(table.patient) }),
);

/**
 * Every event of the consent registry, per patient, in chain order (`id` is the zero-padded block number and log
 * index), with its decoded arguments: what the SDK's history functions read.
 */
export const patientEvent = onchainTable(
  "patient_event",
  (t) => ({
    id: t.text().primaryKey(),
    patient: t.hex().notNull(),
    kind: t.text().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
    args: t.json().notNull(),
  }),
  (table) => ({ patientIdx: index().on(table.patient, table.id), kindIdx: index().on(table.patient, table.kind) }),
);

export const batchRelations = relations(batch, ({ many }) => ({ retractions: many(batchItemRetraction) }));
export const batchItemRetractionRelations = relations(batchItemRetraction, ({ one }) => ({
  batch: one(batch, { fields: [batchItemRetraction.batchId], references: [batch.id] }),
}));
export const providerRelations = relations(provider, ({ many }) => ({ keys: many(providerKey) }));
export const providerKeyRelations = relations(providerKey, ({ one }) => ({
  provider: one(provider, { fields: [providerKey.providerId], references: [provider.id] }),
}));
