/**
 * The codes every contract shares (contracts/ConsentCodes.sol), mirrored for TypeScript with the HL7/FHIR code
 * strings they stand for.
 */
import { keccak256, toUtf8Bytes } from "ethers";

/** HL7 v3 PurposeOfUse (the codes FHIR Consent.provision.purpose uses). Values are the on-chain enum. */
export enum Purpose {
  TREAT = 0,
  ETREAT = 1,
  HPAYMT = 2,
  HOPERAT = 3,
  HRESCH = 4,
  PUBHLTH = 5,
  PATRQT = 6,
  FAMRQT = 7,
  CAREMGT = 8,
  COVERAGE = 9,
}

/** FHIR consent actions. Values are the on-chain enum. */
export enum Action {
  COLLECT = 0,
  ACCESS = 1,
  USE = 2,
  DISCLOSE = 3,
  CORRECT = 4,
}

/** What `consentOf` says of one stored consent. */
export enum ConsentStatus {
  None = 0,
  Active = 1,
  Pending = 2,
  Expired = 3,
  Revoked = 4,
  Denied = 5,
}

/** What a stored consent decides. */
export enum Decision {
  None = 0,
  Permit = 1,
  Deny = 2,
  Revoked = 3,
}

/** The status of an anchored record. */
export enum RecordStatus {
  None = 0,
  Active = 1,
  Superseded = 2,
  Retracted = 3,
}

/** The status of an address in the provider registry. */
export enum ProviderStatus {
  None = 0,
  Active = 1,
  Suspended = 2,
  Retired = 3,
}

/** Provider capabilities, a bit mask. */
export const Capability = { TREATMENT: 1, EMERGENCY: 2, RESEARCH: 4 } as const;
export const ALL_CAPABILITIES = 7;

/** The FHIR code system of purposes, and each purpose's display text. */
export const PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
export const PURPOSE_DISPLAY: Record<keyof typeof Purpose, string> = {
  TREAT: "treatment",
  ETREAT: "emergency treatment",
  HPAYMT: "healthcare payment",
  HOPERAT: "healthcare operations",
  HRESCH: "healthcare research",
  PUBHLTH: "public health",
  PATRQT: "patient requested",
  FAMRQT: "family requested",
  CAREMGT: "care management",
  COVERAGE: "coverage under policy or program",
};

/** The FHIR code system of consent actions; each action's code is its lower-case name. */
export const ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction";

/** Every purpose bit, and every action bit. */
export const ALL_PURPOSES = (1 << 10) - 1;
export const ALL_ACTIONS = (1 << 5) - 1;

/** The longest URI the registries accept, in bytes. */
export const MAX_URI_LENGTH = 512;

/** A category code must be lower case: letters, digits, and `-`, `_`, `.`, `:` or `/` inside. */
const CATEGORY_CODE = /^[a-z0-9](?:[a-z0-9._:/-]*[a-z0-9])?$/;

/** The category id of a lower-case category code: `keccak256(bytes(code))`. */
export function categoryId(code: string): string {
  if (code === "*") return ANY_CATEGORY;
  if (!CATEGORY_CODE.test(code)) {
    throw new Error(`Invalid category code "${code}": use a lower-case code such as "laboratory" or "mental-health"`);
  }
  return keccak256(toUtf8Bytes(code));
}

/** The category that stands for every category: `keccak256("*")`. */
export const ANY_CATEGORY = keccak256(toUtf8Bytes("*"));

/** Well-known category codes; any other lower-case code works the same way. */
export const CATEGORY_CODES = [
  "laboratory",
  "imaging",
  "medications",
  "allergies",
  "immunizations",
  "diagnoses",
  "procedures",
  "vital-signs",
  "clinical-notes",
  "mental-health",
  "substance-use",
  "sexual-health",
  "genomics",
] as const;

/** The code of a known category id, or undefined. */
export function categoryCode(id: string): string | undefined {
  if (id.toLowerCase() === ANY_CATEGORY) return "*";
  return CATEGORY_CODES.find((code) => categoryId(code) === id.toLowerCase());
}

/** Parses a purpose code ("TREAT", case-insensitive). */
export function parsePurpose(code: string): Purpose {
  const key = code.trim().toUpperCase() as keyof typeof Purpose;
  if (!(key in PURPOSE_DISPLAY)) {
    throw new Error(`Unknown purpose "${code}": use one of ${Object.keys(PURPOSE_DISPLAY).join(", ")}`);
  }
  return Purpose[key];
}

/** Parses an action code ("access", case-insensitive). */
export function parseAction(code: string): Action {
  const key = code.trim().toUpperCase() as keyof typeof Action;
  if (typeof Action[key] !== "number") {
    throw new Error(`Unknown action "${code}": use one of ${actionNames().join(", ")}`);
  }
  return Action[key];
}

function actionNames(): string[] {
  return Object.keys(Action)
    .filter((k) => Number.isNaN(Number(k)))
    .map((k) => k.toLowerCase());
}

/** The mask with the bit of each purpose set. */
export function purposeMask(...purposes: Purpose[]): number {
  return purposes.reduce((mask, p) => mask | (1 << p), 0);
}

/** The mask with the bit of each action set. */
export function actionMask(...actions: Action[]): number {
  return actions.reduce((mask, a) => mask | (1 << a), 0);
}

/** The purposes whose bits are set in `mask`. */
export function purposesOf(mask: number): Purpose[] {
  return Object.values(Purpose)
    .filter((v): v is Purpose => typeof v === "number")
    .filter((p) => (mask & (1 << p)) !== 0);
}

/** The actions whose bits are set in `mask`. */
export function actionsOf(mask: number): Action[] {
  return Object.values(Action)
    .filter((v): v is Action => typeof v === "number")
    .filter((a) => (mask & (1 << a)) !== 0);
}
