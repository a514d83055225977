/**
 * The parts of the project's SDK the portal uses, from its browser-safe modules. `src/index.ts` also exports the
 * deployment files' helpers, which read the file system (node:fs): the portal gets its deployments from
 * `deployments.json` instead (see deployments.ts). Privacy mode (src/privacy) is browser-safe: ethers' scrypt and
 * HMAC, and eciesjs over @noble.
 */
export * from "../../src/codes";
export * from "../../src/client";
export * from "../../src/errors";
export * from "../../src/history";
export * from "../../src/records";
export * from "../../src/privacy";
export { splitSignatureNonce } from "../../src/eip712";
export { IndexerLagError } from "../../src/history-source";
export { toFhirAuditEvents, fhirAuditBundle } from "../../src/fhir/audit";
export type { DeploymentAddresses, Deployment } from "../../src/deployment";
