/**
 * FHIR R4 interoperability: Consent resources to and from registry calls, the patient's consents as a Bundle, and
 * the access trail as AuditEvents.
 */
export type { Consent as FhirConsent } from "fhir/r4";
export * from "./common";
export * from "./categories";
export * from "./references";
export * from "./consent-export";
export * from "./consent-import";
export * from "./audit";
