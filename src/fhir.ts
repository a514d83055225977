/**
 * FHIR R4 `Consent` resources for on-chain consents, and the registry calls a FHIR consent stands for.
 *
 * ## toFhirConsent: status mapping
 *
 * | on-chain status | Consent.status | provision.type                                  |
 * |-----------------|----------------|-------------------------------------------------|
 * | Active          | active         | permit                                          |
 * | Pending         | active         | permit (`provision.period.start` is ahead)      |
 * | Expired         | inactive       | permit (`provision.period.end` has passed)      |
 * | Revoked         | inactive       | permit, or deny for a withdrawn deny            |
 * | Denied          | active         | deny (a deny is a directive in force)           |
 * | None            | (throws: nothing is stored for the key)                          |
 *
 * `rejected` is not used: it means a party refused a proposed consent, which the registry never records.
 *
 * ## Mapping of fields
 *
 * - `scope` consentscope#patient-privacy; `category` LOINC 59284-0 "Patient Consent"; `policyRule` v3-ActCode#OPTIN
 *   (nothing is shared unless a provision permits it, which is the registry's rule); with `chainId` and `registry`,
 *   `policy[0].authority` is the registry as a CAIP-10 account (`eip155:<chainId>:<address>`).
 * - `patient.identifier` and each `provision.actor[].reference.identifier` are accounts: system `urn:ietf:rfc:3986`,
 *   value `eip155:<chainId>:<address>` (CAIP-10). Without a chain id, system {@link ETHEREUM_ADDRESS_SYSTEM} and the
 *   checksummed address. Actors have role v3-ParticipationType#IRCP (information recipient).
 * - `dateTime` is when the consent was written on-chain (`issuedAt`).
 * - `provision.period`: `start` is `notBefore`; `end` is the last second in force, `expiresAt - 1` (FHIR period
 *   ends are inclusive, `expiresAt` is the first second no longer in force).
 * - `provision.action` consentaction codes, `provision.purpose` v3-ActReason codes.
 * - The category: none for every category (`*`); `provision.class` with {@link CATEGORY_SYSTEM} and the code for a
 *   known category code; with {@link CATEGORY_ID_SYSTEM} and the 0x id otherwise.
 *
 * ## fromFhirConsent
 *
 * Reads the provision tree: the root provision and every nested provision with a `type` stand for one call per
 * (actor, category): `grant` for a permit, `deny` for a deny. A nested provision inherits from its parent the
 * actors, categories, purposes, actions and period it does not state itself. Categories come from
 * `provision.class` (the two systems above), `provision.securityLabel` (v3-ActCode sensitivity codes PSY and BH:
 * mental-health, ETH and SUD: substance-use, SEX and STD: sexual-health, GDIS: genomics) or `provision.data`
 * (`meaning` instance, identifier system {@link RECORD_ID_SYSTEM}: a single anchored record). The registry keeps one
 * consent per (grantee, category): for a key with a deny only the deny is returned (a deny wins), identical permits
 * are returned once, and different permits for one key throw. Whatever the registry cannot honour exactly throws an
 * Error naming the FHIR path.
 */
import type {
  CodeableConcept,
  Coding,
  Consent,
  ConsentPolicy,
  ConsentProvision,
  ConsentProvisionActor,
  Identifier,
  Period,
} from "fhir/r4";
import { getAddress, isAddress, isHexString, type BigNumberish } from "ethers";

import {
  ACTION_SYSTEM,
  ANY_CATEGORY,
  Action,
  CATEGORY_CODES,
  ConsentStatus,
  Decision,
  PURPOSE_DISPLAY,
  PURPOSE_SYSTEM,
  Purpose,
  actionsOf,
  categoryCode,
  categoryId,
  purposesOf,
} from "./codes";

export type { Consent as FhirConsent } from "fhir/r4";

export const CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope";
export const LOINC_SYSTEM = "http://loinc.org";
export const PATIENT_CONSENT_LOINC = "59284-0";
export const PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
export const ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/** Identifier system for a URI value (here a CAIP-10 account `eip155:<chainId>:<address>`). */
export const URI_SYSTEM = "urn:ietf:rfc:3986";
/** Identifier system for a bare checksummed Ethereum address (used when no chain id is known). */
export const ETHEREUM_ADDRESS_SYSTEM = "https://eips.ethereum.org/EIPS/eip-55";
/** This project's code system of category codes ("laboratory", "mental-health", ...). */
export const CATEGORY_SYSTEM = "urn:consent-anchor:category";
/** This project's code system of category ids (0x-prefixed keccak256 of a code, or a record id). */
export const CATEGORY_ID_SYSTEM = "urn:consent-anchor:category-id";
/** Identifier system of anchored record ids, for `provision.data`. */
export const RECORD_ID_SYSTEM = "urn:consent-anchor:record";

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

/** A stored consent as `consentOf` returns it (typechain struct with bigints, or plain numbers). */
export interface ConsentLike {
  purposes: BigNumberish;
  actions: BigNumberish;
  notBefore: BigNumberish;
  expiresAt: BigNumberish;
  issuedAt: BigNumberish;
  epoch: BigNumberish;
  decision: BigNumberish;
}

export interface ToFhirConsentInput {
  patient: string;
  /** The key the consent is stored under (a provider's stable id for providers). */
  grantee: string;
  /** A category code ("laboratory", "*") or a 0x category id. */
  category: string;
  consent: ConsentLike;
  status: ConsentStatus;
  chainId?: number | bigint;
  /** The consent registry's address. */
  registry?: string;
}

/** A grant as {fromFhirConsent} reads it (the shape of the client's GrantParams). */
export interface FhirGrantParams {
  grantee: string;
  category: string;
  purposes: Purpose[];
  actions: Action[];
  notBefore: number;
  expiresAt: number;
}

/** A registry call a FHIR consent stands for, with the path of the provision it comes from. */
export type FhirConsentCall =
  | { kind: "grant"; params: FhirGrantParams; path: string }
  | { kind: "deny"; grantee: string; category: string; path: string };

export interface FromFhirConsentOptions {
  /** When given, account identifiers must be on this chain. */
  chainId?: number | bigint;
  /** When given, a `policy` naming a registry must name this one. */
  registry?: string;
  /** When given, `Consent.patient` must be this account. */
  patient?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

function fhirError(path: string, message: string): Error {
  return new Error(`${path}: ${message}`);
}

/** Unix seconds as a FHIR dateTime ("2025-01-01T00:00:00Z"). */
export function fhirDateTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** The account identifier of `address`: CAIP-10 with a chain id, else the bare checksummed address. */
export function accountIdentifier(address: string, chainId?: number | bigint): Identifier {
  const checksummed = getAddress(address);
  return chainId === undefined
    ? { system: ETHEREUM_ADDRESS_SYSTEM, value: checksummed }
    : { system: URI_SYSTEM, value: `eip155:${chainId.toString()}:${checksummed}` };
}

const CAIP10 = /^eip155:(\d+):(0x[0-9a-fA-F]{40})$/;

/** The address of an account identifier, checking its chain against `chainId` when both are known. */
function parseAccount(identifier: Identifier | undefined, path: string, chainId?: number | bigint): string {
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
function parseDateTime(text: string | undefined, path: string): { first: number; end: number } {
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
function categoryParam(code: string): string {
  return code === "*" || (CATEGORY_CODES as readonly string[]).includes(code) ? code : categoryId(code);
}

function normaliseCategory(category: string): string {
  if (isHexString(category, 32)) return category.toLowerCase();
  return categoryId(category);
}

// ---------------------------------------------------------------------------------------------------------------
// toFhirConsent
// ---------------------------------------------------------------------------------------------------------------

/** The FHIR R4 Consent resource for one stored consent. See the module comment for the mapping. */
export function toFhirConsent(input: ToFhirConsentInput): Consent {
  const { chainId, registry } = input;
  const status = input.status;
  if (status === ConsentStatus.None) {
    throw new Error("There is no consent stored for this patient, grantee and category: nothing to express in FHIR");
  }
  const consent = {
    purposes: Number(input.consent.purposes),
    actions: Number(input.consent.actions),
    notBefore: Number(input.consent.notBefore),
    expiresAt: Number(input.consent.expiresAt),
    issuedAt: Number(input.consent.issuedAt),
    decision: Number(input.consent.decision) as Decision,
  };
  const id = normaliseCategory(input.category);
  const code = isHexString(input.category, 32) ? categoryCode(id) : input.category;
  const isDeny =
    consent.decision === Decision.Deny ||
    status === ConsentStatus.Denied ||
    (consent.decision === Decision.Revoked && consent.purposes === 0);

  const provision: ConsentProvision = {
    type: isDeny ? "deny" : "permit",
    actor: [
      {
        role: {
          coding: [{ system: PARTICIPATION_TYPE_SYSTEM, code: "IRCP", display: "information recipient" }],
        },
        reference: { identifier: accountIdentifier(input.grantee, chainId) },
      },
    ],
  };
  if (!isDeny) {
    provision.period = { start: fhirDateTime(consent.notBefore), end: fhirDateTime(consent.expiresAt - 1) };
    provision.action = actionsOf(consent.actions).map((a): CodeableConcept => ({
      coding: [{ system: ACTION_SYSTEM, code: Action[a].toLowerCase() }],
    }));
    provision.purpose = purposesOf(consent.purposes).map((p): Coding => ({
      system: PURPOSE_SYSTEM,
      code: Purpose[p],
      display: PURPOSE_DISPLAY[Purpose[p] as keyof typeof Purpose],
    }));
  }
  if (id !== ANY_CATEGORY) {
    provision.class = [
      code === undefined ? { system: CATEGORY_ID_SYSTEM, code: id } : { system: CATEGORY_SYSTEM, code },
    ];
  }

  const resource: Consent = {
    resourceType: "Consent",
    status:
      status === ConsentStatus.Active || status === ConsentStatus.Pending || status === ConsentStatus.Denied
        ? "active"
        : "inactive",
    scope: {
      coding: [{ system: CONSENT_SCOPE_SYSTEM, code: "patient-privacy", display: "Privacy Consent" }],
    },
    category: [{ coding: [{ system: LOINC_SYSTEM, code: PATIENT_CONSENT_LOINC, display: "Patient Consent" }] }],
    patient: { identifier: accountIdentifier(input.patient, chainId) },
    policyRule: { coding: [{ system: ACT_CODE_SYSTEM, code: "OPTIN", display: "opt-in" }] },
    provision,
  };
  if (consent.issuedAt > 0) resource.dateTime = fhirDateTime(consent.issuedAt);
  if (registry !== undefined && chainId !== undefined) {
    resource.policy = [{ authority: `eip155:${chainId.toString()}:${getAddress(registry)}` }];
  }
  return resource;
}

// ---------------------------------------------------------------------------------------------------------------
// fromFhirConsent
// ---------------------------------------------------------------------------------------------------------------

/** What a provision states or inherits. */
interface ProvisionScope {
  grantees?: string[];
  categories?: string[];
  purposes?: Purpose[];
  actions?: Action[];
  notBefore?: number;
  expiresAt?: number;
}

function parseActors(actors: ConsentProvisionActor[], path: string, chainId?: number | bigint): string[] {
  return actors.map((actor, i) => {
    const at = `${path}.actor[${i}]`;
    const roles = actor.role?.coding ?? [];
    const recipient = roles.some(
      (c) => c.system === PARTICIPATION_TYPE_SYSTEM && (c.code === "IRCP" || c.code === "PRCP"),
    );
    if (!recipient) {
      const given = roles.map((c) => `${c.system ?? ""}#${c.code ?? ""}`).join(", ") || "none";
      throw fhirError(
        `${at}.role`,
        `unsupported role ${given}: use ${PARTICIPATION_TYPE_SYSTEM}#IRCP (information recipient)`,
      );
    }
    return parseAccount(actor.reference?.identifier, `${at}.reference.identifier`, chainId);
  });
}

function parsePurposes(codings: Coding[], path: string): Purpose[] {
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

function parseActions(concepts: CodeableConcept[], path: string): Action[] {
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

function parseCategories(provision: ConsentProvision, path: string): string[] | undefined {
  const given = (["class", "securityLabel", "data"] as const).filter((field) => (provision[field]?.length ?? 0) > 0);
  if (given.length === 0) return undefined;
  if (given.length > 1) {
    throw fhirError(path, `${given.join(" and ")} cannot be combined: state the data covered in one of them`);
  }
  if (provision.class?.length) {
    return provision.class.map((coding, i) => {
      const at = `${path}.class[${i}]`;
      const code = coding.code ?? "";
      if (coding.system === CATEGORY_SYSTEM) {
        try {
          return categoryParam(code);
        } catch (error) {
          throw fhirError(at, (error as Error).message);
        }
      }
      if (coding.system === CATEGORY_ID_SYSTEM) {
        if (!isHexString(code, 32) || BigInt(code) === 0n) throw fhirError(at, `invalid category id ${code}`);
        return categoryCode(code) ?? code.toLowerCase();
      }
      throw fhirError(at, `unsupported class ${coding.system ?? ""}#${code}: use ${CATEGORY_SYSTEM}`);
    });
  }
  if (provision.securityLabel?.length) {
    return provision.securityLabel.map((coding, i) => {
      const category = coding.system === ACT_CODE_SYSTEM ? SECURITY_LABEL_CATEGORIES[coding.code ?? ""] : undefined;
      if (category === undefined) {
        throw fhirError(
          `${path}.securityLabel[${i}]`,
          `unsupported security label ${coding.system ?? ""}#${coding.code ?? ""}: supported are ` +
            `${ACT_CODE_SYSTEM} ${Object.keys(SECURITY_LABEL_CATEGORIES).join(", ")}`,
        );
      }
      return category;
    });
  }
  return (provision.data ?? []).map((data, i) => {
    const at = `${path}.data[${i}]`;
    if (data.meaning !== "instance")
      throw fhirError(`${at}.meaning`, `unsupported meaning ${data.meaning}: use instance`);
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

function parsePeriod(period: Period, path: string): { notBefore?: number; expiresAt?: number } {
  const notBefore = period.start === undefined ? undefined : parseDateTime(period.start, `${path}.start`).first;
  const expiresAt = period.end === undefined ? undefined : parseDateTime(period.end, `${path}.end`).end;
  if (notBefore !== undefined && expiresAt !== undefined && expiresAt <= notBefore) {
    throw fhirError(path, "the period ends before it starts");
  }
  return { notBefore, expiresAt };
}

function walk(
  provision: ConsentProvision,
  path: string,
  inherited: ProvisionScope,
  parentType: "permit" | "deny" | undefined,
  options: FromFhirConsentOptions,
  calls: FhirConsentCall[],
): void {
  if (provision.dataPeriod) {
    throw fhirError(`${path}.dataPeriod`, "not supported: a consent covers the category's data of any date");
  }
  if (provision.code?.length) throw fhirError(`${path}.code`, "not supported: use provision.class for the category");

  const type = provision.type;
  if (type !== undefined && type !== "permit" && type !== "deny") {
    throw fhirError(`${path}.type`, `unknown type ${String(type)}: use permit or deny`);
  }
  const isRoot = path === "Consent.provision";
  if (type === undefined && !(isRoot && (provision.provision?.length ?? 0) > 0)) {
    throw fhirError(`${path}.type`, "missing: a provision must permit or deny");
  }
  if (type === "permit" && parentType === "deny") {
    throw fhirError(path, "a permit nested in a deny cannot be honoured: on the registry a deny always wins");
  }

  const own: ProvisionScope = {};
  if (provision.actor?.length) own.grantees = parseActors(provision.actor, path, options.chainId);
  own.categories = parseCategories(provision, path);
  if (provision.purpose?.length) own.purposes = parsePurposes(provision.purpose, path);
  if (provision.action?.length) own.actions = parseActions(provision.action, path);
  const period = provision.period ? parsePeriod(provision.period, `${path}.period`) : {};

  if (type === "deny") {
    if (own.purposes) throw fhirError(`${path}.purpose`, "a deny covers every purpose: it cannot be limited to some");
    if (own.actions) throw fhirError(`${path}.action`, "a deny covers every action: it cannot be limited to some");
    if (provision.period)
      throw fhirError(`${path}.period`, "a deny stays until it is revoked: it cannot have a period");
  }

  const scope: ProvisionScope = {
    grantees: own.grantees ?? inherited.grantees,
    categories: own.categories ?? inherited.categories,
    purposes: own.purposes ?? inherited.purposes,
    actions: own.actions ?? inherited.actions,
    notBefore: period.notBefore ?? inherited.notBefore,
    expiresAt: period.expiresAt ?? inherited.expiresAt,
  };

  if (type !== undefined) {
    const grantees = scope.grantees;
    if (!grantees?.length) throw fhirError(`${path}.actor`, "missing: name the recipient with an eip155 identifier");
    const categories = scope.categories ?? ["*"];
    if (type === "permit") {
      if (!scope.purposes?.length) throw fhirError(`${path}.purpose`, "missing: list the purposes the permit covers");
      if (!scope.actions?.length) throw fhirError(`${path}.action`, "missing: list the actions the permit covers");
      if (scope.expiresAt === undefined) throw fhirError(`${path}.period.end`, "missing: a permit needs an end");
      const purposes = [...new Set(scope.purposes)].sort((x, y) => x - y);
      const actions = [...new Set(scope.actions)].sort((x, y) => x - y);
      for (const grantee of grantees) {
        for (const category of categories) {
          calls.push({
            kind: "grant",
            path,
            params: {
              grantee,
              category,
              purposes,
              actions,
              notBefore: scope.notBefore ?? 0,
              expiresAt: scope.expiresAt,
            },
          });
        }
      }
    } else {
      for (const grantee of grantees) {
        for (const category of categories) calls.push({ kind: "deny", path, grantee, category });
      }
    }
  }

  (provision.provision ?? []).forEach((nested, i) =>
    walk(nested, `${path}.provision[${i}]`, scope, type ?? parentType, options, calls),
  );
}

function checkPolicies(policies: ConsentPolicy[], options: FromFhirConsentOptions): void {
  policies.forEach((policy, i) => {
    const at = `Consent.policy[${i}]`;
    if (policy.uri !== undefined) throw fhirError(`${at}.uri`, `cannot honour policy ${policy.uri}`);
    const match = CAIP10.exec(policy.authority ?? "");
    if (!match) throw fhirError(`${at}.authority`, `cannot honour authority ${policy.authority ?? "(none)"}`);
    if (options.chainId !== undefined && BigInt(match[1]) !== BigInt(options.chainId)) {
      throw fhirError(`${at}.authority`, `registry on chain ${match[1]}, not on chain ${options.chainId.toString()}`);
    }
    if (options.registry !== undefined && getAddress(match[2]) !== getAddress(options.registry)) {
      throw fhirError(
        `${at}.authority`,
        `consent for registry ${getAddress(match[2])}, not ${getAddress(options.registry)}`,
      );
    }
  });
}

/** The patient a FHIR consent names, or undefined when it names none. */
export function fhirConsentPatient(resource: Consent, chainId?: number | bigint): string | undefined {
  if (!resource.patient) return undefined;
  return parseAccount(resource.patient.identifier, "Consent.patient.identifier", chainId);
}

/**
 * The registry calls a FHIR R4 Consent stands for: a grant for each permit and a deny for each deny provision, per
 * actor and category. Throws an Error naming the FHIR path for anything the registry cannot honour exactly.
 */
export function fromFhirConsent(resource: Consent, options: FromFhirConsentOptions = {}): FhirConsentCall[] {
  if ((resource as { resourceType?: unknown }).resourceType !== "Consent") {
    throw fhirError("Consent.resourceType", "expected a Consent resource");
  }
  if (resource.status !== "active") {
    throw fhirError("Consent.status", `only an active consent can be applied, this one is ${String(resource.status)}`);
  }
  const scopes = resource.scope?.coding ?? [];
  if (!scopes.some((c) => c.system === CONSENT_SCOPE_SYSTEM && c.code === "patient-privacy")) {
    const given = scopes.map((c) => `${c.system ?? ""}#${c.code ?? ""}`).join(", ") || "none";
    throw fhirError("Consent.scope", `only ${CONSENT_SCOPE_SYSTEM}#patient-privacy consents apply (got ${given})`);
  }
  const patient = fhirConsentPatient(resource, options.chainId);
  if (options.patient !== undefined && patient !== undefined && patient !== getAddress(options.patient)) {
    throw fhirError(
      "Consent.patient.identifier",
      `the consent is for ${patient}, not for ${getAddress(options.patient)}`,
    );
  }
  if (resource.policyRule) {
    const codings = resource.policyRule.coding ?? [];
    const optIn = codings.some((c) => c.system === ACT_CODE_SYSTEM && c.code === "OPTIN");
    if (!optIn) {
      const given = codings.map((c) => `${c.system ?? ""}#${c.code ?? ""}`).join(", ") || resource.policyRule.text;
      throw fhirError(
        "Consent.policyRule",
        `cannot honour policy rule ${given ?? "(none)"}: only ${ACT_CODE_SYSTEM}#OPTIN (nothing shared unless permitted)`,
      );
    }
  }
  checkPolicies(resource.policy ?? [], options);
  if (!resource.provision) throw fhirError("Consent.provision", "missing: nothing to apply");

  const calls: FhirConsentCall[] = [];
  walk(resource.provision, "Consent.provision", {}, undefined, options, calls);
  if (calls.length === 0) throw fhirError("Consent.provision", "no permit or deny provision to apply");
  return reconcile(calls);
}

/**
 * The registry keeps one consent per (grantee, category), and a later call replaces an earlier one. So for each
 * key: a deny wins over permits (only the deny is kept), identical permits are kept once, and different permits
 * (which the registry cannot hold together) throw.
 */
function reconcile(calls: FhirConsentCall[]): FhirConsentCall[] {
  const keyOf = (call: FhirConsentCall) => {
    const grantee = call.kind === "grant" ? call.params.grantee : call.grantee;
    const category = call.kind === "grant" ? call.params.category : call.category;
    return `${grantee.toLowerCase()}:${normaliseCategory(category)}`;
  };
  const denied = new Set(calls.filter((call) => call.kind === "deny").map(keyOf));
  const kept = new Map<string, FhirConsentCall>();
  const result: FhirConsentCall[] = [];
  for (const call of calls) {
    const key = keyOf(call);
    if (call.kind === "grant" && denied.has(key)) continue;
    const earlier = kept.get(key);
    if (earlier === undefined) {
      kept.set(key, call);
      result.push(call);
      continue;
    }
    if (earlier.kind === "grant" && call.kind === "grant") {
      const same = JSON.stringify(earlier.params) === JSON.stringify(call.params);
      if (!same) {
        throw fhirError(
          call.path,
          `a second, different permit for ${call.params.grantee} and ${categoryText(call.params.category)} would replace ` +
            `the one of ${earlier.path}: the registry keeps one consent per grantee and category`,
        );
      }
    }
  }
  return result;
}

function categoryText(category: string): string {
  return category === "*" ? "every category" : `category ${category}`;
}
