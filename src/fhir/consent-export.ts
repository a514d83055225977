/**
 * On-chain consents as strict FHIR R4 `Consent` resources, alone or as the patient's whole picture in a `Bundle`.
 *
 * ## Status mapping
 *
 * | on-chain status | Consent.status | policyRule | root provision                                   |
 * |-----------------|----------------|------------|--------------------------------------------------|
 * | Active          | active         | OPTIN      | the permit's conditions                          |
 * | Pending         | active         | OPTIN      | the same (`provision.period.start` is ahead)     |
 * | Expired         | inactive       | OPTIN      | the same (`provision.period.end` has passed)     |
 * | Revoked         | inactive       | OPTIN      | the same, or OPTOUT for a withdrawn deny         |
 * | Denied          | active         | OPTOUT     | the recipient and the category                   |
 * | None            | (throws: nothing is stored for the key)                                        |
 *
 * The root provision states no `type`, as R4 requires: the policy rule says whether its conditions are permitted
 * (OPTIN) or denied (OPTOUT), and {@link fromFhirConsent} reads it back so.
 *
 * ## Fields
 *
 * - `scope` consentscope#patient-privacy; `category` LOINC 59284-0 "Patient Consent"; with `chainId` and `registry`,
 *   `policy[0].authority` is the registry as a CAIP-10 account.
 * - `patient` and each `provision.actor[].reference` carry the account identifier (CAIP-10 with a chain id, else
 *   eip-55), or the Reference `resolve` returns; the actor's role is v3-ParticipationType#IRCP.
 * - `dateTime` is `issuedAt`; `provision.period` is `notBefore` to `expiresAt - 1` (FHIR ends are inclusive).
 * - `provision.action` consentaction codes, `provision.purpose` v3-ActReason codes.
 * - The category: none for every category; otherwise `provision.class` with the resource types that map to it
 *   (http://hl7.org/fhir/resource-types) and the project's code; a sensitive category also has its v3-ActCode
 *   `provision.securityLabel` (PSY, ETH, SEX, GDIS). An unknown category id is given by id.
 */
import type { Bundle, CodeableConcept, Coding, Consent, ConsentProvision, Reference } from "fhir/r4";
import { getAddress, type BigNumberish } from "ethers";

import {
  ACTION_SYSTEM,
  Action,
  ConsentStatus,
  Decision,
  PURPOSE_DISPLAY,
  PURPOSE_SYSTEM,
  Purpose,
  actionsOf,
  purposesOf,
} from "../codes";
import { categoryClassCodings, categorySecurityLabel, resourceTypeMap } from "./categories";
import {
  ACT_CODE_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  LOINC_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  PATIENT_CONSENT_LOINC,
  accountIdentifier,
  caip10,
  fhirDateTime,
} from "./common";
import type { CurrentConsent } from "../history";
import type { FhirAccountResolver } from "./references";

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

/** How exported resources name things. */
export interface FhirExportOptions {
  chainId?: number | bigint;
  /** The consent registry's address. */
  registry?: string;
  /** Maps an account to the Reference the EHR knows it by; accounts it leaves out are named by identifier. */
  resolve?: FhirAccountResolver;
  /** Resource types to category codes, over {@link DEFAULT_RESOURCE_TYPE_CATEGORIES}. */
  resourceTypeCategories?: Readonly<Record<string, string>>;
}

export interface ToFhirConsentInput extends FhirExportOptions {
  patient: string;
  /** The key the consent is stored under (a provider's stable id for providers). */
  grantee: string;
  /** A category code ("laboratory", "*") or a 0x category id. */
  category: string;
  consent: ConsentLike;
  status: ConsentStatus;
}

const OPTIN: Coding = { system: ACT_CODE_SYSTEM, code: "OPTIN", display: "opt-in" };
const OPTOUT: Coding = { system: ACT_CODE_SYSTEM, code: "OPTOUT", display: "opt-out" };

/** The Reference of an account: what `resolve` gives, else its account identifier. */
export function accountReference(
  address: string,
  role: Parameters<FhirAccountResolver>[1]["role"],
  options: FhirExportOptions,
): Reference {
  return (
    options.resolve?.(getAddress(address), { role }) ?? { identifier: accountIdentifier(address, options.chainId) }
  );
}

/** The FHIR R4 Consent resource for one stored consent. See the module comment for the mapping. */
export function toFhirConsent(input: ToFhirConsentInput): Consent {
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
  const isDeny =
    consent.decision === Decision.Deny ||
    status === ConsentStatus.Denied ||
    (consent.decision === Decision.Revoked && consent.purposes === 0);

  const provision: ConsentProvision = {
    actor: [
      {
        role: {
          coding: [{ system: PARTICIPATION_TYPE_SYSTEM, code: "IRCP", display: "information recipient" }],
        },
        reference: accountReference(input.grantee, "grantee", input),
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
  const classes = categoryClassCodings(input.category, resourceTypeMap(input.resourceTypeCategories));
  if (classes.length > 0) provision.class = classes;
  const label = categorySecurityLabel(input.category);
  if (label !== undefined) provision.securityLabel = [label];

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
    patient: accountReference(input.patient, "patient", input),
    policyRule: { coding: [isDeny ? OPTOUT : OPTIN] },
    provision,
  };
  if (consent.issuedAt > 0) resource.dateTime = fhirDateTime(consent.issuedAt);
  if (input.registry !== undefined && input.chainId !== undefined) {
    resource.policy = [{ authority: caip10(input.registry, input.chainId) }];
  }
  return resource;
}

/** One stored consent of a patient, as `currentConsents` (history) or `consentOf` (state) gives it. */
export interface StoredConsent {
  grantee: string;
  /** A category code or a 0x category id. */
  category: string;
  consent: ConsentLike;
  status: ConsentStatus;
}

export interface FhirConsentBundleInput extends FhirExportOptions {
  patient: string;
  consents: readonly StoredConsent[];
  /** When the picture was taken, in unix seconds (Bundle.timestamp). */
  timestamp?: number;
}

/**
 * The patient's whole picture: a FHIR R4 `Bundle` of type `collection` with one Consent per stored consent key
 * (keys with nothing stored are left out), in the order given.
 */
export function fhirConsentBundle(input: FhirConsentBundleInput): Bundle<Consent> {
  const entry = input.consents
    .filter((stored) => stored.status !== ConsentStatus.None)
    .map((stored) => ({
      resource: toFhirConsent({
        patient: input.patient,
        chainId: input.chainId,
        registry: input.registry,
        resolve: input.resolve,
        resourceTypeCategories: input.resourceTypeCategories,
        ...stored,
      }),
    }));
  const bundle: Bundle<Consent> = { resourceType: "Bundle", type: "collection", entry };
  if (input.timestamp !== undefined) bundle.timestamp = fhirDateTime(input.timestamp);
  return bundle;
}

/** What {@link readFhirConsentBundle} needs of a client (the SDK's `ConsentClient` has it). */
export interface ConsentPictureSource {
  currentConsents(patient: string): Promise<readonly CurrentConsent[]>;
  readonly deployment: { consentRegistry: string; chainId?: number };
}

/**
 * The patient's whole picture, from history: the consents `currentConsents` replays from the registry's events
 * (their status at the latest block), as {@link fhirConsentBundle}.
 */
export async function readFhirConsentBundle(
  client: ConsentPictureSource,
  patient: string,
  options: Omit<FhirExportOptions, "registry"> = {},
): Promise<Bundle<Consent>> {
  const consents = await client.currentConsents(patient);
  return fhirConsentBundle({
    registry: client.deployment.consentRegistry,
    chainId: client.deployment.chainId,
    ...options,
    patient,
    consents: consents.map((c) => ({ ...c, category: c.categoryCode ?? c.category })),
    timestamp: Math.floor(Date.now() / 1000),
  });
}
