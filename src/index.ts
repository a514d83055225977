/**
 * The consent-anchor SDK: codes, EIP-712 typed data, record fingerprints and batches, the consent client, history,
 * FHIR mapping, error decoding, deployment files and the contracts' ABIs.
 */
export * from "./codes";
export * from "./eip712";
export * from "./records";
export * from "./errors";
export * from "./history";
export * from "./history-source";
export * from "./fhir";
export * from "./client";
export * from "./deployment";
export * from "./duration";
export * from "./abi";
export * from "./privacy";
