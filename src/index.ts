/**
 * The consent-anchor SDK: codes, EIP-712 typed data, record fingerprints and batches, the consent client, history,
 * FHIR mapping, error decoding and deployment files.
 */
export * from "./codes";
export * from "./eip712";
export * from "./records";
export * from "./errors";
export * from "./history";
export * from "./fhir";
export * from "./client";
export * from "./deployment";
export * from "./duration";
// The history's own types win over the FHIR module's copies of them.
export type { ChangeActor, SignaturesCancelledEvent } from "./history";
