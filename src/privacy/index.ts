/**
 * Privacy mode (docs/privacy.md): private categories keyed per relationship, pairwise pseudonyms, salted record
 * fingerprints and encryption to a grantee. Everything is derived from one patient secret, held in memory only.
 */
export * from "./secret";
export * from "./relationship";
export * from "./pseudonyms";
export * from "./fingerprints";
export * from "./encrypt";
export * from "./session";
