/**
 * The fields of one FHIR R4 `Consent.provision`, read into what the registry holds: recipients, categories,
 * purposes, actions and the period. Each parser throws an Error whose message starts with the FHIR path.
 */
import type { CodeableConcept, Coding, ConsentProvision, ConsentProvisionActor, FhirResource, Period } from "fhir/r4";
import { isHexString } from "ethers";

import { ACTION_SYSTEM, Action, PURPOSE_DISPLAY, PURPOSE_SYSTEM, Purpose } from "../codes";
import { classCategory, securityLabelCategory } from "./categories";
import {
  LEGACY_PARTICIPATION_TYPE_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  RECORD_ID_SYSTEM,
  codingsText,
  fhirError,
  normaliseCategory,
  parseDateTime,
} from "./common";
import { resolveReference, type FhirReferenceResolver } from "./references";

/** Roles whose actor is a grantee, by code system. */
export const RECIPIENT_ROLES: Readonly<Record<string, readonly string[]>> = {
  [PARTICIPATION_TYPE_SYSTEM]: ["IRCP", "PRCP"],
  [LEGACY_PARTICIPATION_TYPE_SYSTEM]: ["IRCP", "PRCP"],
};

/** Roles that name who holds the records, not a grantee: ignored. */
export const CUSTODIAN_ROLES: Readonly<Record<string, readonly string[]>> = {
  [PARTICIPATION_TYPE_SYSTEM]: ["CST"],
  [LEGACY_PARTICIPATION_TYPE_SYSTEM]: ["CST"],
};

/** What the field parsers need of the import. */
export interface FieldContext {
  resolve?: FhirReferenceResolver;
  chainId?: number | bigint;
  contained?: readonly FhirResource[];
  classMap: Readonly<Record<string, string>>;
}

function hasRole(codings: Coding[], roles: Readonly<Record<string, readonly string[]>>): boolean {
  return codings.some((c) => c.system !== undefined && (roles[c.system] ?? []).includes(c.code ?? ""));
}

/** The grantees among the actors (undefined when none is a recipient). */
export function parseActors(actors: ConsentProvisionActor[], path: string, ctx: FieldContext): string[] | undefined {
  const grantees: string[] = [];
  actors.forEach((actor, i) => {
    const at = `${path}.actor[${i}]`;
    const roles = actor.role?.coding ?? [];
    if (hasRole(roles, RECIPIENT_ROLES)) {
      grantees.push(resolveReference(actor.reference, { path: `${at}.reference`, role: "actor" }, ctx));
      return;
    }
    if (hasRole(roles, CUSTODIAN_ROLES)) return;
    throw fhirError(
      `${at}.role`,
      `the role ${codingsText(roles)} is neither a recipient nor a custodian: a registry consent can name ` +
        `recipients (${PARTICIPATION_TYPE_SYSTEM} IRCP or PRCP) but cannot be limited to the records of an author ` +
        `or any other party`,
    );
  });
  return grantees.length > 0 ? [...new Set(grantees)] : undefined;
}

export function parsePurposes(codings: Coding[], path: string): Purpose[] {
  return codings.map((coding, i) => {
    const at = `${path}.purpose[${i}]`;
    if (coding.system !== undefined && coding.system !== PURPOSE_SYSTEM) {
      throw fhirError(at, `unsupported purpose system ${coding.system}: use ${PURPOSE_SYSTEM}`);
    }
    const code = coding.code ?? "";
    if (!(code in PURPOSE_DISPLAY)) throw fhirError(at, `unknown purpose code ${code}`);
    return Purpose[code as keyof typeof Purpose];
  });
}

export function parseActions(concepts: CodeableConcept[], path: string): Action[] {
  return concepts.map((concept, i) => {
    const at = `${path}.action[${i}]`;
    const coding = (concept.coding ?? []).find((c) => c.system === ACTION_SYSTEM) ?? concept.coding?.[0];
    const code = coding?.code ?? concept.text ?? "";
    const key = code.toUpperCase() as keyof typeof Action;
    if (coding?.system !== ACTION_SYSTEM || code !== code.toLowerCase() || typeof Action[key] !== "number") {
      throw fhirError(at, `action code ${code || "(none)"} is not in ${ACTION_SYSTEM}`);
    }
    return Action[key];
  });
}

function parseRecords(provision: ConsentProvision, path: string): string[] {
  return (provision.data ?? []).map((data, i) => {
    const at = `${path}.data[${i}]`;
    if (data.meaning !== "instance") {
      throw fhirError(
        `${at}.meaning`,
        `unsupported meaning ${data.meaning}: the registry holds consents to one anchored record (instance), ` +
          `not to the records related to or depending on one`,
      );
    }
    const identifier = data.reference?.identifier;
    const value = identifier?.value ?? "";
    if (identifier?.system !== RECORD_ID_SYSTEM || !isHexString(value, 32) || BigInt(value) === 0n) {
      throw fhirError(
        `${at}.reference.identifier`,
        `expected an anchored record id (system ${RECORD_ID_SYSTEM}, value a 0x-prefixed 32-byte id)`,
      );
    }
    return value.toLowerCase();
  });
}

/** The categories a provision states, or undefined. Several kinds of statement must name the same categories. */
export function parseCategories(provision: ConsentProvision, path: string, ctx: FieldContext): string[] | undefined {
  const stated: [string, string[]][] = [];
  if (provision.class?.length) {
    stated.push(["class", provision.class.map((c, i) => classCategory(c, `${path}.class[${i}]`, ctx.classMap))]);
  }
  if (provision.securityLabel?.length) {
    stated.push([
      "securityLabel",
      provision.securityLabel.map((c, i) => securityLabelCategory(c, `${path}.securityLabel[${i}]`)),
    ]);
  }
  if (provision.data?.length) stated.push(["data", parseRecords(provision, path)]);
  if (stated.length === 0) return undefined;
  const unique = (list: string[]) => [...new Map(list.map((c) => [normaliseCategory(c), c])).values()];
  const [first, ...others] = stated.map(([field, list]): [string, string[]] => [field, unique(list)]);
  const ids = (list: string[]) => list.map(normaliseCategory).sort().join();
  for (const [field, list] of others) {
    if (ids(list) !== ids(first[1])) {
      throw fhirError(
        path,
        `${first[0]} and ${field} name different data, and FHIR reads them together as the data both describe: ` +
          `the registry cannot hold that intersection; state the data covered in one of them`,
      );
    }
  }
  return first[1];
}

export function parsePeriod(period: Period, path: string): { notBefore?: number; expiresAt?: number } {
  const notBefore = period.start === undefined ? undefined : parseDateTime(period.start, `${path}.start`).first;
  const expiresAt = period.end === undefined ? undefined : parseDateTime(period.end, `${path}.end`).end;
  if (notBefore !== undefined && expiresAt !== undefined && expiresAt <= notBefore) {
    throw fhirError(path, "the period ends before it starts");
  }
  return { notBefore, expiresAt };
}
