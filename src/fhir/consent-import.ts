/**
 * The registry calls a FHIR R4 `Consent` stands for, read with R4's provision semantics.
 *
 * - The root provision's decision: its `type` when it states one (many producers do), else the policy rule:
 *   under v3-ActCode OPTIN its conditions are a permit, under OPTOUT a deny. An OPTOUT root that names no recipient
 *   means "no standing permits": a `revokeAll` call, before every other call of the consent.
 * - Nested provisions are exceptions and must state their `type`. They inherit from their parent the recipients,
 *   categories, purposes, actions and period they do not state.
 * - Actors are grantees only in a recipient role (v3-ParticipationType IRCP or PRCP). A custodian (CST) says who
 *   holds the records and is not a grantee: the registry's consents cover the patient's data wherever it is held.
 *   Any other role, such as an author (AUT), limits the consent in a way the registry cannot hold, and throws.
 * - References go through `resolve` (see ./references).
 * - Categories: `provision.class` (resource types through the resource-type map, or the project's systems),
 *   `provision.securityLabel` (v3-ActCode sensitivity labels) or `provision.data` (an anchored record).
 * - The registry keeps one consent per (grantee, category): a deny wins over permits for its key, identical
 *   permits are kept once, and different permits for one key throw.
 *
 * Nothing is widened or narrowed: whatever the registry cannot hold exactly (a deny limited by purpose, action or
 * period, including one nested in a limited permit; a `dataPeriod`; an author; an unmapped code) throws an Error
 * whose message starts with the FHIR path and says why.
 */
import type {
  CodeableConcept,
  Coding,
  Consent,
  ConsentPolicy,
  ConsentProvision,
  ConsentProvisionActor,
  Period,
} from "fhir/r4";
import { getAddress, isHexString } from "ethers";

import { ACTION_SYSTEM, Action, PURPOSE_DISPLAY, PURPOSE_SYSTEM, Purpose } from "../codes";
import { classCategory, resourceTypeMap, securityLabelCategory } from "./categories";
import {
  ACT_CODE_SYSTEM,
  CAIP10,
  CONSENT_SCOPE_SYSTEM,
  LEGACY_PARTICIPATION_TYPE_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  RECORD_ID_SYSTEM,
  codingsText,
  fhirError,
  normaliseCategory,
  parseDateTime,
} from "./common";
import { resolveReference, type FhirReferenceResolver } from "./references";

/** A grant as {@link fromFhirConsent} reads it (the shape of the client's GrantParams). */
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
  | { kind: "deny"; grantee: string; category: string; path: string }
  | { kind: "revokeAll"; path: string };

export interface FromFhirConsentOptions {
  /** When given, account identifiers must be on this chain. */
  chainId?: number | bigint;
  /** When given, a `policy` naming a registry must name this one. */
  registry?: string;
  /** When given, `Consent.patient` must be this account. */
  patient?: string;
  /** Maps the references the EHR writes (`Patient/f001`, `#org`, an NPI...) to accounts. */
  resolve?: FhirReferenceResolver;
  /** Resource types to category codes, over {@link DEFAULT_RESOURCE_TYPE_CATEGORIES}. */
  resourceTypeCategories?: Readonly<Record<string, string>>;
}

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

type Decision = "permit" | "deny";

/** What a provision states or inherits. */
interface ProvisionScope {
  grantees?: string[];
  categories?: string[];
  purposes?: Purpose[];
  actions?: Action[];
  notBefore?: number;
  expiresAt?: number;
  /** The path of the nearest provision that limited purposes, actions or the period. */
  limitedAt?: string;
}

interface Context {
  options: FromFhirConsentOptions;
  /** The policy rule's decision for a root without a type. */
  policy: Decision | undefined;
  resource: Consent;
  classMap: Readonly<Record<string, string>>;
  calls: FhirConsentCall[];
}

function hasRole(codings: Coding[], roles: Readonly<Record<string, readonly string[]>>): boolean {
  return codings.some((c) => c.system !== undefined && (roles[c.system] ?? []).includes(c.code ?? ""));
}

/** The grantees among the actors (undefined when none is a recipient). */
function parseActors(actors: ConsentProvisionActor[], path: string, ctx: Context): string[] | undefined {
  const grantees: string[] = [];
  actors.forEach((actor, i) => {
    const at = `${path}.actor[${i}]`;
    const roles = actor.role?.coding ?? [];
    if (hasRole(roles, RECIPIENT_ROLES)) {
      grantees.push(
        resolveReference(
          actor.reference,
          { path: `${at}.reference`, role: "actor" },
          { resolve: ctx.options.resolve, chainId: ctx.options.chainId, contained: ctx.resource.contained },
        ),
      );
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
function parseCategories(provision: ConsentProvision, path: string, ctx: Context): string[] | undefined {
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

function parsePeriod(period: Period, path: string): { notBefore?: number; expiresAt?: number } {
  const notBefore = period.start === undefined ? undefined : parseDateTime(period.start, `${path}.start`).first;
  const expiresAt = period.end === undefined ? undefined : parseDateTime(period.end, `${path}.end`).end;
  if (notBefore !== undefined && expiresAt !== undefined && expiresAt <= notBefore) {
    throw fhirError(path, "the period ends before it starts");
  }
  return { notBefore, expiresAt };
}

/** The policy rule's decision for a root without a type: OPTIN permits, OPTOUT denies. */
function policyDecision(resource: Consent): Decision | undefined {
  if (!resource.policyRule) return undefined;
  const codings = resource.policyRule.coding ?? [];
  if (codings.some((c) => c.system === ACT_CODE_SYSTEM && c.code === "OPTIN")) return "permit";
  if (codings.some((c) => c.system === ACT_CODE_SYSTEM && c.code === "OPTOUT")) return "deny";
  const given = codings.length > 0 ? codingsText(codings) : (resource.policyRule.text ?? "(none)");
  throw fhirError(
    "Consent.policyRule",
    `cannot honour policy rule ${given}: only ${ACT_CODE_SYSTEM}#OPTIN (share what the provisions permit) and ` +
      `#OPTOUT (withhold what they deny) have a meaning on the registry`,
  );
}

function walk(
  provision: ConsentProvision,
  path: string,
  inherited: ProvisionScope,
  parent: Decision | "revokeAll" | undefined,
  ctx: Context,
): void {
  if (provision.dataPeriod) {
    throw fhirError(
      `${path}.dataPeriod`,
      "the registry cannot limit a consent to data of some dates: a consent covers the category's data of any date",
    );
  }
  if (provision.code?.length) {
    throw fhirError(
      `${path}.code`,
      "the registry cannot limit a consent to documents of some codes: name the category with provision.class",
    );
  }
  const isRoot = parent === undefined;
  const stated = provision.type;
  if (stated !== undefined && stated !== "permit" && stated !== "deny") {
    throw fhirError(`${path}.type`, `unknown type ${String(stated)}: use permit or deny`);
  }
  let decision: Decision;
  if (stated !== undefined) decision = stated;
  else if (!isRoot) {
    throw fhirError(
      `${path}.type`,
      "missing: a nested provision is an exception to its parent and must permit or deny",
    );
  } else {
    const fromPolicy = ctx.policy;
    if (fromPolicy === undefined) {
      throw fhirError(
        `${path}.type`,
        `missing, and Consent.policyRule is neither ${ACT_CODE_SYSTEM}#OPTIN nor #OPTOUT: nothing says whether ` +
          `the root permits or denies`,
      );
    }
    decision = fromPolicy;
  }
  if (decision === "permit" && parent === "deny") {
    throw fhirError(path, "a permit nested in a deny cannot be honoured: on the registry a deny always wins");
  }

  const own: ProvisionScope = {};
  if (provision.actor?.length) own.grantees = parseActors(provision.actor, path, ctx);
  own.categories = parseCategories(provision, path, ctx);
  if (provision.purpose?.length) own.purposes = parsePurposes(provision.purpose, path);
  if (provision.action?.length) own.actions = parseActions(provision.action, path);
  const period = provision.period ? parsePeriod(provision.period, `${path}.period`) : {};
  const limits = own.purposes !== undefined || own.actions !== undefined || provision.period !== undefined;

  const scope: ProvisionScope = {
    grantees: own.grantees ?? inherited.grantees,
    categories: own.categories ?? inherited.categories,
    purposes: own.purposes ?? inherited.purposes,
    actions: own.actions ?? inherited.actions,
    notBefore: period.notBefore ?? inherited.notBefore,
    expiresAt: period.expiresAt ?? inherited.expiresAt,
    limitedAt: limits ? path : inherited.limitedAt,
  };

  let kind: Decision | "revokeAll" = decision;
  if (decision === "deny") {
    const what = "the registry's deny covers every purpose and every action until it is revoked";
    if (own.purposes) throw fhirError(`${path}.purpose`, `a deny limited to some purposes cannot be held: ${what}`);
    if (own.actions) throw fhirError(`${path}.action`, `a deny limited to some actions cannot be held: ${what}`);
    if (provision.period) throw fhirError(`${path}.period`, `a deny limited in time cannot be held: ${what}`);
    if (scope.limitedAt !== undefined) {
      throw fhirError(
        path,
        `this deny is an exception to ${scope.limitedAt}, which is limited by purpose, action or period, so it is ` +
          `limited the same way, and ${what}: it would be widened`,
      );
    }
    if (!scope.grantees) {
      if (!isRoot) {
        throw fhirError(`${path}.actor`, "missing: a nested deny must name its recipient (an IRCP or PRCP actor)");
      }
      if (scope.categories) {
        throw fhirError(
          path,
          "a deny of some categories to no one in particular cannot be held: the registry can end every standing " +
            "permit at once (revokeAll), or deny a named recipient",
        );
      }
      kind = "revokeAll";
      ctx.calls.push({ kind: "revokeAll", path });
    } else {
      for (const grantee of scope.grantees) {
        for (const category of scope.categories ?? ["*"]) ctx.calls.push({ kind: "deny", path, grantee, category });
      }
    }
  } else {
    if (!scope.grantees?.length) {
      throw fhirError(`${path}.actor`, "missing: a permit must name its recipient (an IRCP or PRCP actor)");
    }
    if (!scope.purposes?.length) throw fhirError(`${path}.purpose`, "missing: list the purposes the permit covers");
    if (!scope.actions?.length) throw fhirError(`${path}.action`, "missing: list the actions the permit covers");
    if (scope.expiresAt === undefined) {
      throw fhirError(`${path}.period.end`, "missing: a permit on the registry needs an end");
    }
    const purposes = [...new Set(scope.purposes)].sort((x, y) => x - y);
    const actions = [...new Set(scope.actions)].sort((x, y) => x - y);
    for (const grantee of scope.grantees) {
      for (const category of scope.categories ?? ["*"]) {
        ctx.calls.push({
          kind: "grant",
          path,
          params: { grantee, category, purposes, actions, notBefore: scope.notBefore ?? 0, expiresAt: scope.expiresAt },
        });
      }
    }
  }

  // Below a revokeAll nothing is inherited: it has no conditions.
  const passed = kind === "revokeAll" ? {} : scope;
  (provision.provision ?? []).forEach((nested, i) => walk(nested, `${path}.provision[${i}]`, passed, kind, ctx));
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

/** The patient a FHIR consent names (resolved like every reference), or undefined when it names none. */
export function fhirConsentPatient(resource: Consent, options: FromFhirConsentOptions = {}): string | undefined {
  if (!resource.patient) return undefined;
  return resolveReference(
    resource.patient,
    { path: "Consent.patient", role: "patient" },
    { resolve: options.resolve, chainId: options.chainId, contained: resource.contained },
  );
}

/**
 * The registry calls a FHIR R4 Consent stands for: a `revokeAll` for an OPTOUT root naming no recipient (first), a
 * grant for each permit and a deny for each deny, per recipient and category. Throws an Error naming the FHIR path,
 * and saying why, for anything the registry cannot hold exactly. See the module comment for the semantics.
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
    throw fhirError(
      "Consent.scope",
      `only ${CONSENT_SCOPE_SYSTEM}#patient-privacy consents apply (got ${codingsText(scopes)})`,
    );
  }
  const patient = fhirConsentPatient(resource, options);
  if (options.patient !== undefined && patient !== undefined && patient !== getAddress(options.patient)) {
    throw fhirError("Consent.patient", `the consent is for ${patient}, not for ${getAddress(options.patient)}`);
  }
  checkPolicies(resource.policy ?? [], options);
  if (!resource.provision) throw fhirError("Consent.provision", "missing: nothing to apply");

  const ctx: Context = {
    options,
    policy: policyDecision(resource),
    resource,
    classMap: resourceTypeMap(options.resourceTypeCategories),
    calls: [],
  };
  walk(resource.provision, "Consent.provision", {}, undefined, ctx);
  return reconcile(ctx.calls);
}

/**
 * The registry keeps one consent per (grantee, category), and a later call replaces an earlier one. So a revokeAll
 * comes first; for each key a deny wins over permits (only the deny is kept), identical permits are kept once, and
 * different permits (which the registry cannot hold together) throw.
 */
function reconcile(calls: FhirConsentCall[]): FhirConsentCall[] {
  const keyOf = (call: FhirConsentCall & { kind: "grant" | "deny" }) => {
    const grantee = call.kind === "grant" ? call.params.grantee : call.grantee;
    const category = call.kind === "grant" ? call.params.category : call.category;
    return `${grantee.toLowerCase()}:${normaliseCategory(category)}`;
  };
  const result: FhirConsentCall[] = calls.filter((call) => call.kind === "revokeAll");
  const keyed = calls.filter((call): call is FhirConsentCall & { kind: "grant" | "deny" } => call.kind !== "revokeAll");
  const denied = new Set(keyed.filter((call) => call.kind === "deny").map(keyOf));
  const kept = new Map<string, FhirConsentCall>();
  for (const call of keyed) {
    const key = keyOf(call);
    if (call.kind === "grant" && denied.has(key)) continue;
    const earlier = kept.get(key);
    if (earlier === undefined) {
      kept.set(key, call);
      result.push(call);
      continue;
    }
    if (earlier.kind === "grant" && call.kind === "grant") {
      if (JSON.stringify(earlier.params) !== JSON.stringify(call.params)) {
        const what = call.params.category === "*" ? "every category" : `category ${call.params.category}`;
        throw fhirError(
          call.path,
          `a second, different permit for ${call.params.grantee} and ${what} would replace the one of ` +
            `${earlier.path}: the registry keeps one consent per grantee and category`,
        );
      }
    }
  }
  return result;
}
