/**
 * What the FHIR modules share: code systems, account identifiers, FHIR dates, and the error every import throws.
 */
import type { Identifier } from "fhir/r4";
import { getAddress, isAddress, isHexString } from "ethers";

import { CATEGORY_CODES, categoryId } from "../codes";

export const CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope";
export const LOINC_SYSTEM = "http://loinc.org";
export const PATIENT_CONSENT_LOINC = "59284-0";
export const PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/** The pre-R4 address of v3-ParticipationType, still written by some producers. */
export const LEGACY_PARTICIPATION_TYPE_SYSTEM = "http://hl7.org/fhir/v3/ParticipationType";
export const ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/** FHIR resource type names as codes (`provision.class`, `AuditEvent.entity.type`). */
export const RESOURCE_TYPES_SYSTEM = "http://hl7.org/fhir/resource-types";
/** Identifier system for a URI value (here a CAIP-10 account `eip155:<chainId>:<address>`). */
export const URI_SYSTEM = "urn:ietf:rfc:3986";
/** Identifier system for a bare checksummed Ethereum address (used when no chain id is known). */
export const ETHEREUM_ADDRESS_SYSTEM = "https://eips.ethereum.org/EIPS/eip-55";
/** This project's code system of category codes ("laboratory", "mental-health", ...). */
export const CATEGORY_SYSTEM = "urn:consent-anchor:category";
/** This project's code system of category ids (0x-prefixed keccak256 of a code, or a record id). */
export const CATEGORY_ID_SYSTEM = "urn:consent-anchor:category-id";
/** Identifier system of anchored record ids, for `provision.data` and `AuditEvent.entity`. */
export const RECORD_ID_SYSTEM = "urn:consent-anchor:record";

/** An Error whose message starts with the FHIR path it is about. */
export function fhirError(path: string, message: string): Error {
  return new Error(`${path}: ${message}`);
}

/** Unix seconds as a FHIR dateTime or instant ("2025-01-01T00:00:00Z"). */
export function fhirDateTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** The CAIP-10 account id `eip155:<chainId>:<address>`. */
export function caip10(address: string, chainId: number | bigint): string {
  return `eip155:${chainId.toString()}:${getAddress(address)}`;
}

/** The account identifier of `address`: CAIP-10 with a chain id, else the bare checksummed address. */
export function accountIdentifier(address: string, chainId?: number | bigint): Identifier {
  const checksummed = getAddress(address);
  return chainId === undefined
    ? { system: ETHEREUM_ADDRESS_SYSTEM, value: checksummed }
    : { system: URI_SYSTEM, value: caip10(checksummed, chainId) };
}

export const CAIP10 = /^eip155:(\d+):(0x[0-9a-fA-F]{40})$/;

/** Whether an identifier names an account (CAIP-10 or eip-55), whatever its chain. */
export function isAccountIdentifier(identifier: Identifier | undefined): boolean {
  if (!identifier) return false;
  const value = identifier.value ?? "";
  if (identifier.system === ETHEREUM_ADDRESS_SYSTEM) return isAddress(value);
  return CAIP10.test(value) && (identifier.system === undefined || identifier.system === URI_SYSTEM);
}

/** The address of an account identifier, checking its chain against `chainId` when both are known. */
export function parseAccount(identifier: Identifier | undefined, path: string, chainId?: number | bigint): string {
  const expected = "expected an eip155 account identifier (system urn:ietf:rfc:3986, value eip155:<chainId>:<address>)";
  if (!identifier) throw fhirError(path, `missing: ${expected}`);
  const value = identifier.value ?? "";
  if (identifier.system === ETHEREUM_ADDRESS_SYSTEM && isAddress(value)) return getAddress(value);
  const match = CAIP10.exec(value);
  if (!match || (identifier.system !== undefined && identifier.system !== URI_SYSTEM)) {
    throw fhirError(path, `not an eip155 account: ${identifier.system ?? ""}|${value}: ${expected}`);
  }
  if (chainId !== undefined && BigInt(match[1]) !== BigInt(chainId)) {
    throw fhirError(path, `account ${value} is on chain ${match[1]}, not on chain ${chainId.toString()}`);
  }
  return getAddress(match[2]);
}

const FHIR_DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/**
 * A FHIR dateTime as an interval of unix seconds [first, end): a date-only value covers its whole year, month or
 * day (UTC); a full value covers its second.
 */
export function parseDateTime(text: string | undefined, path: string): { first: number; end: number } {
  const match = text === undefined ? null : FHIR_DATE_TIME.exec(text);
  if (!match || text === undefined) throw fhirError(path, `invalid dateTime "${text ?? ""}"`);
  const [, year, month, day, hour] = match;
  if (hour !== undefined) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw fhirError(path, `invalid dateTime "${text}"`);
    const first = Math.floor(ms / 1000);
    return { first, end: first + 1 };
  }
  const y = Number(year);
  if (month === undefined) return { first: Date.UTC(y, 0, 1) / 1000, end: Date.UTC(y + 1, 0, 1) / 1000 };
  const m = Number(month) - 1;
  if (day === undefined) return { first: Date.UTC(y, m, 1) / 1000, end: Date.UTC(y, m + 1, 1) / 1000 };
  const d = Number(day);
  const first = Date.UTC(y, m, d) / 1000;
  if (new Date(first * 1000).getUTCDate() !== d) throw fhirError(path, `invalid date "${text}"`);
  return { first, end: Date.UTC(y, m, d + 1) / 1000 };
}

/** A category code when the id is a well-known code's, else the id. */
export function categoryParam(code: string): string {
  return code === "*" || (CATEGORY_CODES as readonly string[]).includes(code) ? code : categoryId(code);
}

/** The lower-case 0x category id of a code or id. */
export function normaliseCategory(category: string): string {
  if (isHexString(category, 32)) return category.toLowerCase();
  return categoryId(category);
}

/** "system#code" of each coding, for error messages. */
export function codingsText(codings: readonly { system?: string; code?: string }[]): string {
  return codings.map((c) => `${c.system ?? ""}#${c.code ?? ""}`).join(", ") || "none";
}
