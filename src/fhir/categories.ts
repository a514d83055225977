/**
 * Categories in standard FHIR codes, both ways: `provision.class` FHIR resource types and v3-ActCode sensitivity
 * security labels to category codes, and each category to the standard codings that name it.
 */
import type { Coding } from "fhir/r4";
import { isHexString } from "ethers";

import { ANY_CATEGORY, categoryCode } from "../codes";
import {
  ACT_CODE_SYSTEM,
  CATEGORY_ID_SYSTEM,
  CATEGORY_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  categoryParam,
  codingsText,
  fhirError,
  normaliseCategory,
} from "./common";

/**
 * The default map of FHIR resource types (`provision.class` with system http://hl7.org/fhir/resource-types) to
 * category codes. Override or extend it with the `resourceTypeCategories` option.
 */
export const DEFAULT_RESOURCE_TYPE_CATEGORIES: Readonly<Record<string, string>> = {
  MedicationRequest: "medications",
  MedicationStatement: "medications",
  MedicationAdministration: "medications",
  MedicationDispense: "medications",
  Observation: "laboratory",
  ImagingStudy: "imaging",
  AllergyIntolerance: "allergies",
  Immunization: "immunizations",
  Condition: "diagnoses",
  Procedure: "procedures",
  DocumentReference: "clinical-notes",
};

/** v3-ActCode sensitivity labels understood as categories. */
export const SECURITY_LABEL_CATEGORIES: Readonly<Record<string, string>> = {
  PSY: "mental-health",
  BH: "mental-health",
  ETH: "substance-use",
  SUD: "substance-use",
  SEX: "sexual-health",
  STD: "sexual-health",
  GDIS: "genomics",
};

/** The v3-ActCode security label each sensitive category is exported with. */
export const CATEGORY_SECURITY_LABELS: Readonly<Record<string, Coding>> = {
  "mental-health": { system: ACT_CODE_SYSTEM, code: "PSY", display: "psychiatry disorder information sensitivity" },
  "substance-use": { system: ACT_CODE_SYSTEM, code: "ETH", display: "substance abuse information sensitivity" },
  "sexual-health": {
    system: ACT_CODE_SYSTEM,
    code: "SEX",
    display: "sexuality and reproductive health information sensitivity",
  },
  genomics: { system: ACT_CODE_SYSTEM, code: "GDIS", display: "genetic disease information sensitivity" },
};

/** The resource-type map in force: the default with `overrides` over it. */
export function resourceTypeMap(overrides?: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  return overrides === undefined
    ? DEFAULT_RESOURCE_TYPE_CATEGORIES
    : { ...DEFAULT_RESOURCE_TYPE_CATEGORIES, ...overrides };
}

/**
 * The standard codings of a category for `provision.class`: the resource types that map back to it (so an import
 * with the same map gives the category back), then the project's own code, or the id for an unknown category.
 * None for every category.
 */
export function categoryClassCodings(category: string, map: Readonly<Record<string, string>>): Coding[] {
  const id = normaliseCategory(category);
  if (id === ANY_CATEGORY) return [];
  const code = isHexString(category, 32) ? categoryCode(id) : category;
  if (code === undefined) return [{ system: CATEGORY_ID_SYSTEM, code: id }];
  const types = Object.keys(map)
    .filter((type) => map[type] === code)
    .sort()
    .map((type): Coding => ({ system: RESOURCE_TYPES_SYSTEM, code: type }));
  return [...types, { system: CATEGORY_SYSTEM, code }];
}

/** The security label of a sensitive category, or undefined. */
export function categorySecurityLabel(category: string): Coding | undefined {
  const id = normaliseCategory(category);
  const code = isHexString(category, 32) ? categoryCode(id) : category;
  return code === undefined ? undefined : CATEGORY_SECURITY_LABELS[code];
}

/** The category of one `provision.class` coding. */
export function classCategory(coding: Coding, path: string, map: Readonly<Record<string, string>>): string {
  const code = coding.code ?? "";
  if (coding.system === RESOURCE_TYPES_SYSTEM) {
    const category = map[code];
    if (category === undefined) {
      throw fhirError(
        path,
        `resource type ${code} maps to no category: the known ones are ${Object.keys(map).join(", ")}; ` +
          `map it with the resourceTypeCategories option`,
      );
    }
    return wrap(path, () => categoryParam(category));
  }
  if (coding.system === CATEGORY_SYSTEM) return wrap(path, () => categoryParam(code));
  if (coding.system === CATEGORY_ID_SYSTEM) {
    if (!isHexString(code, 32) || BigInt(code) === 0n) throw fhirError(path, `invalid category id ${code}`);
    return categoryCode(code) ?? code.toLowerCase();
  }
  throw fhirError(
    path,
    `unsupported class ${codingsText([coding])}: use ${RESOURCE_TYPES_SYSTEM} (a resource type) or ${CATEGORY_SYSTEM}`,
  );
}

/** The category of one `provision.securityLabel` coding. */
export function securityLabelCategory(coding: Coding, path: string): string {
  const category = coding.system === ACT_CODE_SYSTEM ? SECURITY_LABEL_CATEGORIES[coding.code ?? ""] : undefined;
  if (category === undefined) {
    throw fhirError(
      path,
      `unsupported security label ${codingsText([coding])}: supported are ` +
        `${ACT_CODE_SYSTEM} ${Object.keys(SECURITY_LABEL_CATEGORIES).join(", ")}`,
    );
  }
  return category;
}

function wrap<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw fhirError(path, (error as Error).message);
  }
}
