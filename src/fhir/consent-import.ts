/**
 * The registry calls a FHIR R4 `Consent` stands for, read with R4's provision semantics.
 *
 * - The root provision's decision: its `type` when it states one (many producers do), else the policy rule:
 *   under v3-ActCode OPTIN its conditions are a permit, under OPTOUT a deny. An OPTOUT root that names no recipient
 *   means "no standing permits": a `revokeAll` call, before every other call of the consent.
 * - Nested provisions are exceptions and must state their `type`. They inherit from their parent the recipients,
 *   categories, purposes, actions and period they do not state.
 * - A rule is limited only by what it (or a parent) states. No `purpose` means every purpose and no `action` every
 *   action: a permit stating neither is imported with every purpose and every action, which is its exact meaning.
 *   No data element (`class`, `securityLabel`, `data`) means every category.
 * - Actors are grantees only in a recipient role (v3-ParticipationType IRCP or PRCP). A custodian (CST) says who
 *   holds the records and is not a grantee: the registry's consents cover the patient's data wherever it is held.
 *   Any other role, such as an author (AUT), limits the consent in a way the registry cannot hold, and throws.
 * - References go through `resolve` (see ./references).
 * - Categories: `provision.class` (resource types through the resource-type map, or the project's systems),
 *   `provision.securityLabel` (v3-ActCode sensitivity labels) or `provision.data` (an anchored record).
 * - The registry keeps one consent per (grantee, category): a deny wins over permits for its key, identical
 *   permits are kept once, and different permits for one key throw.
 *
 * Nothing is widened or narrowed silently. Whatever the registry cannot hold exactly throws an Error whose message
 * starts with the FHIR path and says why: a permit with no end (FHIR: ongoing; the registry needs one), a deny
 * limited by purpose, action or period (including one nested in a limited permit), a `dataPeriod`, document codes,
 * an author, an unmapped code, a permit naming no recipient. Two of these the caller may settle, by an option whose
 * name says what it does:
 * - `openEnded: { expiresAt }`: the end given to permits whose period states none (or that state no period);
 * - `limitedDenies: "deny-all"`: a deny of a named recipient limited by purpose or action is held as a deny of every
 *   purpose and action (stricter than stated). A deny limited in time is refused even so: held without its end, it
 *   would go on blocking permits after the time the patient chose.
 */
import type { Consent, ConsentPolicy, ConsentProvision } from "fhir/r4";
import { getAddress } from "ethers";

import { Action, Purpose } from "../codes";
import { resourceTypeMap } from "./categories";
import { ACT_CODE_SYSTEM, CAIP10, CONSENT_SCOPE_SYSTEM, codingsText, fhirError, normaliseCategory } from "./common";
import {
  parseActions,
  parseActors,
  parseCategories,
  parsePeriod,
  parsePurposes,
  type FieldContext,
} from "./provision-fields";
import { resolveReference, type FhirReferenceResolver } from "./references";

export { CUSTODIAN_ROLES, RECIPIENT_ROLES } from "./provision-fields";

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
  /**
   * The end (unix seconds, exclusive) of every permit whose period states no end. FHIR reads such a permit as
   * ongoing; the registry holds a permit only until a set end, so without this option it is refused.
   */
  openEnded?: { expiresAt: number };
  /**
   * What to do with a deny of a named recipient limited by purpose or action, which the registry cannot hold as
   * stated: "refuse" (the default) throws; "deny-all" holds it as a deny of every purpose and every action, which
   * is stricter than stated. A deny limited in time is refused either way.
   */
  limitedDenies?: "refuse" | "deny-all";
}

type Decision = "permit" | "deny";

/** What a provision states or inherits. */
interface ProvisionScope {
  grantees?: string[];
  categories?: string[];
  purposes?: Purpose[];
  actions?: Action[];
  notBefore?: number;
  expiresAt?: number;
  /** The path of the nearest provision that limited purposes or actions. */
  limitedAt?: string;
  /** The path of the nearest provision that stated a period. */
  periodAt?: string;
}

interface Context extends FieldContext {
  options: FromFhirConsentOptions;
  /** The policy rule's decision for a root without a type. */
  policy: Decision | undefined;
  calls: FhirConsentCall[];
}

const EVERY_PURPOSE = Object.values(Purpose).filter((v): v is Purpose => typeof v === "number");
const EVERY_ACTION = Object.values(Action).filter((v): v is Action => typeof v === "number");
const DENY_HOLDS = "the registry's deny covers every purpose and every action until it is revoked";

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

  const scope: ProvisionScope = {
    grantees: own.grantees ?? inherited.grantees,
    categories: own.categories ?? inherited.categories,
    purposes: own.purposes ?? inherited.purposes,
    actions: own.actions ?? inherited.actions,
    notBefore: period.notBefore ?? inherited.notBefore,
    expiresAt: period.expiresAt ?? inherited.expiresAt,
    limitedAt: own.purposes !== undefined || own.actions !== undefined ? path : inherited.limitedAt,
    periodAt: provision.period !== undefined ? path : inherited.periodAt,
  };

  const kind = decision === "deny" ? deny(provision, path, own, scope, isRoot, ctx) : permit(path, scope, ctx);
  // Below a revokeAll nothing is inherited: it has no conditions.
  const passed = kind === "revokeAll" ? {} : scope;
  (provision.provision ?? []).forEach((nested, i) => walk(nested, `${path}.provision[${i}]`, passed, kind, ctx));
}

/** The calls of a deny: a deny per recipient and category, or a revokeAll for a root naming no recipient. */
function deny(
  provision: ConsentProvision,
  path: string,
  own: ProvisionScope,
  scope: ProvisionScope,
  isRoot: boolean,
  ctx: Context,
): "deny" | "revokeAll" {
  if (provision.period) {
    throw fhirError(
      `${path}.period`,
      `a deny limited in time cannot be held: ${DENY_HOLDS}, and held without its end it would go on blocking ` +
        `permits after the time stated`,
    );
  }
  if (scope.periodAt !== undefined) {
    throw fhirError(
      path,
      `this deny is an exception to ${scope.periodAt}, which is limited in time, so it is limited the same way, ` +
        `and ${DENY_HOLDS}: it would go on after that time`,
    );
  }
  const named = scope.grantees !== undefined;
  if (!named || ctx.options.limitedDenies !== "deny-all") {
    const hint = named
      ? `; pass limitedDenies: "deny-all" to hold it as a deny of every purpose and action (stricter than stated)`
      : "";
    if (own.purposes) {
      throw fhirError(`${path}.purpose`, `a deny limited to some purposes cannot be held: ${DENY_HOLDS}${hint}`);
    }
    if (own.actions) {
      throw fhirError(`${path}.action`, `a deny limited to some actions cannot be held: ${DENY_HOLDS}${hint}`);
    }
    if (scope.limitedAt !== undefined) {
      throw fhirError(
        path,
        `this deny is an exception to ${scope.limitedAt}, which is limited by purpose or action, so it is limited ` +
          `the same way, and ${DENY_HOLDS}${hint}`,
      );
    }
  }
  if (scope.grantees) {
    for (const grantee of scope.grantees) {
      for (const category of scope.categories ?? ["*"]) ctx.calls.push({ kind: "deny", path, grantee, category });
    }
    return "deny";
  }
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
  ctx.calls.push({ kind: "revokeAll", path });
  return "revokeAll";
}

/** The grants of a permit, one per recipient and category; no purpose or action stated means all of them. */
function permit(path: string, scope: ProvisionScope, ctx: Context): "permit" {
  if (!scope.grantees?.length) {
    throw fhirError(
      `${path}.actor`,
      "missing: a permit must name its recipient (an IRCP or PRCP actor): the registry cannot permit no one in " +
        "particular",
    );
  }
  const notBefore = scope.notBefore ?? 0;
  let expiresAt = scope.expiresAt;
  if (expiresAt === undefined) {
    expiresAt = ctx.options.openEnded?.expiresAt;
    if (expiresAt === undefined) {
      throw fhirError(
        `${path}.period.end`,
        "missing: FHIR reads a permit without an end as ongoing, and the registry holds a permit only until a set " +
          "end; state period.end, or pass openEnded: { expiresAt } to choose it",
      );
    }
    if (expiresAt <= notBefore) {
      throw fhirError(
        `${path}.period.start`,
        `the permit starts at ${notBefore}, not before the end openEnded gives (${expiresAt})`,
      );
    }
  }
  const purposes = [...new Set(scope.purposes ?? EVERY_PURPOSE)].sort((x, y) => x - y);
  const actions = [...new Set(scope.actions ?? EVERY_ACTION)].sort((x, y) => x - y);
  for (const grantee of scope.grantees) {
    for (const category of scope.categories ?? ["*"]) {
      ctx.calls.push({ kind: "grant", path, params: { grantee, category, purposes, actions, notBefore, expiresAt } });
    }
  }
  return "permit";
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

  const openEnd = options.openEnded?.expiresAt;
  if (openEnd !== undefined && (!Number.isSafeInteger(openEnd) || openEnd <= 0)) {
    throw new Error(`openEnded.expiresAt must be unix seconds, a positive integer (got ${String(openEnd)})`);
  }
  const ctx: Context = {
    options,
    policy: policyDecision(resource),
    resolve: options.resolve,
    chainId: options.chainId,
    contained: resource.contained,
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
