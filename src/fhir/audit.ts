/**
 * The access trail and the consent changes as FHIR R4 `AuditEvent` resources (an accounting of disclosures an EHR
 * can read).
 *
 * | event                       | type (DICOM DCM)     | action | agents (requestor first)                          |
 * |-----------------------------|----------------------|--------|---------------------------------------------------|
 * | AccessRecorded (disclose)   | 110106 Export        | R      | the grantee                                       |
 * | AccessRecorded (other)      | 110110 Patient Record| C, R, E or U for collect, access, use, correct | the grantee |
 * | EmergencyAccessOpened       | 110113 Security Alert| E      | the provider (purpose ETREAT, `period` the window) |
 * | EmergencyAccessClosed       | 110113 Security Alert| E      | who closed it, the provider                       |
 * | ConsentGranted / Denied     | 110110 Patient Record| C      | who changed it, the grantee                       |
 * | ConsentRevoked, AllConsentsRevoked, SignaturesCancelled | 110110 | D | who changed it (and the grantee)       |
 * | DelegateSet / Removed       | 110110 Patient Record| C / D  | who changed it, the delegate                      |
 * | EmergencyAccessSet          | 110110 Patient Record| U      | who changed it                                    |
 *
 * Every event also has `subtype` urn:consent-anchor:event#<kind> (and the consentaction code of an access),
 * `recorded` (the block time), `outcome` 0 (an event on-chain is a success), the registry as `source`, and
 * entities: the patient (role Patient), the category (its resource type, name and sensitivity label), the record
 * for an access to one, the consent changed, and the transaction with its log index.
 *
 * Who changed a consent: the event's `by` and `actor` ("patient", "delegate" or "relayer") when history gives
 * them; else the patient. When a relayer submitted a patient's signature, the patient is the requestor and the
 * relayer a second agent. Accounts are named through `resolve` when it knows them, else by account identifier.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Bundle, CodeableConcept, Coding } from "fhir/r4";
import { ZeroHash, getAddress } from "ethers";

import { ACTION_SYSTEM, PURPOSE_DISPLAY, PURPOSE_SYSTEM, categoryCode } from "../codes";
import type { ChangeActor, HistoryEvent, PurposeCode } from "../history";
import { categoryClassCodings, categorySecurityLabel, resourceTypeMap } from "./categories";
import {
  PARTICIPATION_TYPE_SYSTEM,
  RECORD_ID_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  URI_SYSTEM,
  caip10,
  fhirDateTime,
} from "./common";
import { accountReference, type FhirExportOptions } from "./consent-export";
import type { AuditRole } from "./references";

export const DICOM_SYSTEM = "http://dicom.nema.org/resources/ontology/DCM";
export const AUDIT_ENTITY_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
export const OBJECT_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/object-role";
export const ROLE_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleClass";
export const SECURITY_SOURCE_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/security-source-type";
/** This project's code system of event kinds ("AccessRecorded", "ConsentGranted"...), for `AuditEvent.subtype`. */
export const EVENT_SYSTEM = "urn:consent-anchor:event";
/** Identifier system of transactions (value: the transaction hash). */
export const TRANSACTION_SYSTEM = "urn:consent-anchor:transaction";
/** Identifier system of a stored consent's key (value: `<patient>/<grantee>/<category id>`). */
export const CONSENT_KEY_SYSTEM = "urn:consent-anchor:consent";

/**
 * An event {@link toFhirAuditEvents} turns into an AuditEvent: any history event. A history written before events
 * said who acted may leave `by` and `actor` out; the patient is then taken as the one who acted.
 */
export type AuditableEvent = HistoryEvent;

export type ToFhirAuditEventsOptions = FhirExportOptions;

const PATIENT_RECORD: Coding = { system: DICOM_SYSTEM, code: "110110", display: "Patient Record" };
const EXPORT: Coding = { system: DICOM_SYSTEM, code: "110106", display: "Export" };
const SECURITY_ALERT: Coding = { system: DICOM_SYSTEM, code: "110113", display: "Security Alert" };
const SYSTEM_OBJECT: Coding = { system: AUDIT_ENTITY_TYPE_SYSTEM, code: "2", display: "System Object" };

const AGENT_TYPES: Record<AuditRole, Coding> = {
  patient: { system: ROLE_CLASS_SYSTEM, code: "PAT", display: "patient" },
  delegate: { system: ROLE_CLASS_SYSTEM, code: "AGNT", display: "agent" },
  relayer: { system: DICOM_SYSTEM, code: "110150", display: "Application" },
  grantee: { system: PARTICIPATION_TYPE_SYSTEM, code: "IRCP", display: "information recipient" },
  provider: { system: PARTICIPATION_TYPE_SYSTEM, code: "IRCP", display: "information recipient" },
};

const ACCESS_ACTIONS: Record<string, AuditEvent["action"]> = {
  collect: "C",
  access: "R",
  use: "E",
  disclose: "R",
  correct: "U",
};

/** `by` and `actor` of an event, when it has them. */
function attribution(event: AuditableEvent): { by?: string; actor?: ChangeActor } {
  const by = "by" in event && typeof event.by === "string" ? event.by : undefined;
  const actor =
    "actor" in event && (event.actor === "patient" || event.actor === "delegate" || event.actor === "relayer")
      ? event.actor
      : undefined;
  return { by, actor };
}

function purposeConcept(code: PurposeCode): CodeableConcept {
  return { coding: [{ system: PURPOSE_SYSTEM, code, display: PURPOSE_DISPLAY[code] }] };
}

class AuditBuilder {
  constructor(private readonly options: ToFhirAuditEventsOptions) {}

  agent(address: string, role: AuditRole, requestor: boolean, purpose?: CodeableConcept[]): AuditEventAgent {
    const agent: AuditEventAgent = {
      type: { coding: [AGENT_TYPES[role]] },
      who: accountReference(address, role, this.options),
      requestor,
    };
    if (purpose) agent.purposeOfUse = purpose;
    return agent;
  }

  /** The agents of a change: who sent it (the patient unless the event says otherwise). */
  changers(event: AuditableEvent): AuditEventAgent[] {
    const { by, actor } = attribution(event);
    const patient = getAddress(event.patient);
    if (by === undefined || getAddress(by) === patient) return [this.agent(patient, "patient", true)];
    if (actor === "relayer") return [this.agent(patient, "patient", true), this.agent(by, "relayer", false)];
    return [this.agent(by, "delegate", true)];
  }

  patientEntity(patient: string): AuditEventEntity {
    return {
      what: accountReference(patient, "patient", this.options),
      type: { system: AUDIT_ENTITY_TYPE_SYSTEM, code: "1", display: "Person" },
      role: { system: OBJECT_ROLE_SYSTEM, code: "1", display: "Patient" },
    };
  }

  categoryEntity(category: string): AuditEventEntity {
    const id = category.toLowerCase();
    const code = categoryCode(id);
    const types = categoryClassCodings(id, resourceTypeMap(this.options.resourceTypeCategories));
    const entity: AuditEventEntity = {
      type: types.find((c) => c.system === RESOURCE_TYPES_SYSTEM) ?? SYSTEM_OBJECT,
      name: code === undefined ? id : code === "*" ? "every category" : code,
      detail: [{ type: "category-id", valueString: id }],
    };
    const label = categorySecurityLabel(id);
    if (label !== undefined) entity.securityLabel = [label];
    return entity;
  }

  transactionEntity(event: AuditableEvent, details: { type: string; valueString: string }[] = []): AuditEventEntity {
    return {
      what: { identifier: { system: TRANSACTION_SYSTEM, value: event.txHash } },
      type: SYSTEM_OBJECT,
      detail: [
        { type: "blockNumber", valueString: String(event.blockNumber) },
        { type: "logIndex", valueString: String(event.logIndex) },
        ...details,
      ],
    };
  }

  consentEntity(patient: string, grantee: string, category: string): AuditEventEntity {
    return {
      what: {
        identifier: {
          system: CONSENT_KEY_SYSTEM,
          value: `${getAddress(patient)}/${getAddress(grantee)}/${category.toLowerCase()}`,
        },
      },
      type: { system: RESOURCE_TYPES_SYSTEM, code: "Consent" },
    };
  }

  event(
    event: AuditableEvent,
    type: Coding,
    action: AuditEvent["action"],
    agent: AuditEventAgent[],
    entity: AuditEventEntity[],
    extra: Partial<AuditEvent> = {},
  ): AuditEvent {
    const { chainId, registry } = this.options;
    const observer =
      registry !== undefined && chainId !== undefined
        ? { identifier: { system: URI_SYSTEM, value: caip10(registry, chainId) }, display: "ConsentRegistry" }
        : { display: "ConsentRegistry" };
    const source: AuditEvent["source"] = {
      observer,
      type: [{ system: SECURITY_SOURCE_TYPE_SYSTEM, code: "4", display: "Application Server" }],
    };
    if (chainId !== undefined) source.site = `eip155:${chainId.toString()}`;
    return {
      resourceType: "AuditEvent",
      type,
      subtype: [...(extra.subtype ?? []), { system: EVENT_SYSTEM, code: event.kind }],
      action,
      ...(extra.period ? { period: extra.period } : {}),
      recorded: fhirDateTime(event.timestamp),
      outcome: "0",
      ...(extra.purposeOfEvent ? { purposeOfEvent: extra.purposeOfEvent } : {}),
      agent,
      source,
      entity: [this.patientEntity(event.patient), ...entity],
    };
  }
}

function toAuditEvent(event: AuditableEvent, b: AuditBuilder): AuditEvent {
  switch (event.kind) {
    case "AccessRecorded": {
      const purpose = [purposeConcept(event.purpose)];
      const entities = [b.categoryEntity(event.category)];
      if (event.recordId !== ZeroHash) {
        entities.push({
          what: { identifier: { system: RECORD_ID_SYSTEM, value: event.recordId.toLowerCase() } },
          type: SYSTEM_OBJECT,
        });
      }
      entities.push(b.transactionEntity(event));
      return b.event(
        event,
        event.action === "disclose" ? EXPORT : PATIENT_RECORD,
        ACCESS_ACTIONS[event.action],
        [b.agent(event.grantee, "grantee", true, purpose)],
        entities,
        { subtype: [{ system: ACTION_SYSTEM, code: event.action }], purposeOfEvent: purpose },
      );
    }
    case "EmergencyAccessOpened": {
      const purpose = [purposeConcept("ETREAT")];
      return b.event(
        event,
        SECURITY_ALERT,
        "E",
        [b.agent(event.provider, "provider", true, purpose)],
        [b.transactionEntity(event, [{ type: "reasonHash", valueString: event.reasonHash }])],
        {
          purposeOfEvent: purpose,
          period: { start: fhirDateTime(event.openedAt), end: fhirDateTime(event.expiresAt - 1) },
        },
      );
    }
    case "EmergencyAccessClosed":
      return b.event(
        event,
        SECURITY_ALERT,
        "E",
        [...b.changers(event), b.agent(event.provider, "provider", false)],
        [b.transactionEntity(event)],
      );
    case "ConsentGranted":
    case "ConsentDenied":
    case "ConsentRevoked":
      return b.event(
        event,
        PATIENT_RECORD,
        event.kind === "ConsentRevoked" ? "D" : "C",
        [...b.changers(event), b.agent(event.grantee, "grantee", false)],
        [
          b.consentEntity(event.patient, event.grantee, event.category),
          b.categoryEntity(event.category),
          b.transactionEntity(event),
        ],
      );
    case "AllConsentsRevoked":
      return b.event(event, PATIENT_RECORD, "D", b.changers(event), [
        b.transactionEntity(event, [{ type: "epoch", valueString: String(event.epoch) }]),
      ]);
    case "SignaturesCancelled":
      return b.event(event, PATIENT_RECORD, "D", b.changers(event), [
        b.transactionEntity(event, [{ type: "signatureEpoch", valueString: String(event.signatureEpoch) }]),
      ]);
    case "DelegateSet":
    case "DelegateRemoved":
      return b.event(
        event,
        PATIENT_RECORD,
        event.kind === "DelegateSet" ? "C" : "D",
        [...b.changers(event), b.agent(event.delegate, "delegate", false)],
        [
          b.transactionEntity(
            event,
            event.kind === "DelegateSet" ? [{ type: "expiresAt", valueString: fhirDateTime(event.expiresAt) }] : [],
          ),
        ],
      );
    case "EmergencyAccessSet":
      return b.event(event, PATIENT_RECORD, "U", b.changers(event), [
        b.transactionEntity(event, [{ type: "emergencyAccessAllowed", valueString: String(event.allowed) }]),
      ]);
  }
}

/**
 * The access trail and consent changes as FHIR R4 AuditEvents, one per event, oldest first. See the module comment
 * for the mapping.
 */
export function toFhirAuditEvents(
  events: readonly AuditableEvent[],
  options: ToFhirAuditEventsOptions = {},
): AuditEvent[] {
  const builder = new AuditBuilder(options);
  return [...events]
    .sort((x, y) => x.blockNumber - y.blockNumber || x.logIndex - y.logIndex)
    .map((event) => toAuditEvent(event, builder));
}

/** AuditEvents as a FHIR R4 `Bundle` of type `collection`. */
export function fhirAuditBundle(events: readonly AuditEvent[], timestamp?: number): Bundle<AuditEvent> {
  const bundle: Bundle<AuditEvent> = {
    resourceType: "Bundle",
    type: "collection",
    entry: events.map((resource) => ({ resource })),
  };
  if (timestamp !== undefined) bundle.timestamp = fhirDateTime(timestamp);
  return bundle;
}
