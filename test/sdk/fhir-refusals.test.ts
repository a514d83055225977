import { expect } from "chai";
import type { Consent, ConsentProvision } from "fhir/r4";

import { ALL_ACTIONS, ALL_PURPOSES, PURPOSE_SYSTEM, Purpose, actionMask, purposeMask } from "../../src/codes";
import {
  ACT_CODE_SYSTEM,
  CATEGORY_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  URI_SYSTEM,
  fromFhirConsent,
  type FhirConsentCall,
} from "../../src/fhir";
import {
  CHAIN,
  CLINIC,
  LAB,
  OPTOUT,
  PATIENT,
  REGISTRY,
  account,
  consentWith,
  recipient,
  treatAccess,
} from "../fixtures/fhir/builders";

const JAN_2026 = Date.parse("2026-01-01T00:00:00Z") / 1000;
const JAN_2027 = Date.parse("2027-01-01T00:00:00Z") / 1000;
const JUL_2027 = Date.parse("2027-07-01T00:00:00Z") / 1000;

/** The masks of a grant call, to compare with what the registry stores. */
function masks(call: FhirConsentCall) {
  if (call.kind !== "grant") throw new Error(`expected a grant, got ${call.kind}`);
  return { purposes: purposeMask(...call.params.purposes), actions: actionMask(...call.params.actions) };
}

describe("fromFhirConsent: what the registry holds, and the sentence for what it cannot", function () {
  describe("a rule is limited only by what it states", function () {
    it("should import a permit stating no purpose and no action as every purpose and every action", function () {
      const [call] = fromFhirConsent(
        consentWith({ actor: [recipient(CLINIC)], period: { start: "2026-01-01", end: "2026-12-31" } }),
      );
      expect(call).to.deep.equal({
        kind: "grant",
        path: "Consent.provision",
        params: {
          grantee: CLINIC,
          category: "*",
          purposes: Object.values(Purpose).filter((p) => typeof p === "number"),
          actions: [0, 1, 2, 3, 4],
          notBefore: JAN_2026,
          expiresAt: JAN_2027,
        },
      });
      expect(masks(call)).to.deep.equal({ purposes: ALL_PURPOSES, actions: ALL_ACTIONS });
    });

    it("should keep a stated purpose and let the actions be all, and the other way round", function () {
      const period = treatAccess.period;
      const [byPurpose] = fromFhirConsent(
        consentWith({ actor: [recipient(CLINIC)], purpose: treatAccess.purpose, period }),
      );
      expect(masks(byPurpose)).to.deep.equal({ purposes: purposeMask(Purpose.TREAT), actions: ALL_ACTIONS });
      const [byAction] = fromFhirConsent(
        consentWith({ actor: [recipient(CLINIC)], action: treatAccess.action, period }),
      );
      expect(masks(byAction)).to.deep.equal({ purposes: ALL_PURPOSES, actions: actionMask(1) });
    });
  });

  describe("openEnded: the end a caller gives permits that state none", function () {
    const ongoing = consentWith({ actor: [recipient(CLINIC)], ...treatAccess, period: { start: "2026-01-01" } });

    it("should refuse a permit without an end, naming the path and the option", function () {
      expect(() => fromFhirConsent(ongoing)).to.throw(
        "Consent.provision.period.end: missing: FHIR reads a permit without an end as ongoing, and the registry " +
          "holds a permit only until a set end; state period.end, or pass openEnded: { expiresAt } to choose it",
      );
    });

    it("should give the chosen end to a permit with a start only, or no period at all", function () {
      const [started] = fromFhirConsent(ongoing, { openEnded: { expiresAt: JUL_2027 } });
      expect(started.kind === "grant" && [started.params.notBefore, started.params.expiresAt]).to.deep.equal([
        JAN_2026,
        JUL_2027,
      ]);
      const [timeless] = fromFhirConsent(consentWith({ actor: [recipient(CLINIC)] }), {
        openEnded: { expiresAt: JUL_2027 },
      });
      expect(timeless.kind === "grant" && [timeless.params.notBefore, timeless.params.expiresAt]).to.deep.equal([
        0,
        JUL_2027,
      ]);
    });

    it("should keep a stated end, and refuse a chosen end that is not after the start", function () {
      const [stated] = fromFhirConsent(consentWith({ actor: [recipient(CLINIC)], ...treatAccess }), {
        openEnded: { expiresAt: JUL_2027 },
      });
      expect(stated.kind === "grant" && stated.params.expiresAt).to.equal(JAN_2027);
      expect(() => fromFhirConsent(ongoing, { openEnded: { expiresAt: JAN_2026 } })).to.throw(
        "Consent.provision.period.start: the permit starts at",
      );
      expect(() => fromFhirConsent(ongoing, { openEnded: { expiresAt: 1.5 } })).to.throw(
        "openEnded.expiresAt must be unix seconds",
      );
    });
  });

  describe('limitedDenies: "deny-all", a deny limited by purpose or action held as a full deny', function () {
    const limited = consentWith({ type: "deny", actor: [recipient(LAB)], action: treatAccess.action });

    it("should refuse by default, naming the option", function () {
      expect(() => fromFhirConsent(limited)).to.throw(
        "Consent.provision.action: a deny limited to some actions cannot be held: the registry's deny covers every " +
          'purpose and every action until it is revoked; pass limitedDenies: "deny-all" to hold it as a deny of ' +
          "every purpose and action (stricter than stated)",
      );
    });

    it("should hold it as a deny of the recipient when asked, also when nested in a permit limited by purpose", function () {
      expect(fromFhirConsent(limited, { limitedDenies: "deny-all" })).to.deep.equal([
        { kind: "deny", path: "Consent.provision", grantee: LAB, category: "*" },
      ]);
      // The nested deny inherits the permit's purpose: held for every purpose, it is stricter.
      const nested = consentWith({
        actor: [recipient(CLINIC), recipient(LAB)],
        purpose: treatAccess.purpose,
        class: [{ system: CATEGORY_SYSTEM, code: "laboratory" }],
        provision: [{ type: "deny", actor: [recipient(LAB)] }],
      });
      const openEnded = { expiresAt: JUL_2027 };
      expect(() => fromFhirConsent(nested, { openEnded })).to.throw(
        "Consent.provision.provision[0]: this deny is an exception to Consent.provision, which is limited by " +
          "purpose or action, so it is limited the same way",
      );
      expect(fromFhirConsent(nested, { openEnded, limitedDenies: "deny-all" })).to.deep.equal([
        {
          kind: "grant",
          path: "Consent.provision",
          params: {
            grantee: CLINIC,
            category: "laboratory",
            purposes: [Purpose.TREAT],
            actions: [0, 1, 2, 3, 4],
            notBefore: 0,
            expiresAt: JUL_2027,
          },
        },
        { kind: "deny", path: "Consent.provision.provision[0]", grantee: LAB, category: "laboratory" },
      ]);
    });

    it("should refuse a deny limited in time, or naming no recipient, even so", function () {
      const timed = consentWith({ type: "deny", actor: [recipient(LAB)], period: treatAccess.period });
      expect(() => fromFhirConsent(timed, { limitedDenies: "deny-all" })).to.throw(
        "Consent.provision.period: a deny limited in time cannot be held",
      );
      const inTimedPermit = consentWith({
        actor: [recipient(CLINIC)],
        ...treatAccess,
        provision: [{ type: "deny", purpose: [{ system: PURPOSE_SYSTEM, code: "HRESCH" }] }],
      });
      expect(() => fromFhirConsent(inTimedPermit, { limitedDenies: "deny-all" })).to.throw(
        "Consent.provision.provision[0]: this deny is an exception to Consent.provision, which is limited in time",
      );
      const nobody = consentWith({ purpose: treatAccess.purpose }, OPTOUT);
      expect(() => fromFhirConsent(nobody, { limitedDenies: "deny-all" })).to.throw(
        "Consent.provision.purpose: a deny limited to some purposes cannot be held: the registry's deny covers " +
          "every purpose and every action until it is revoked",
      );
    });
  });

  describe("with constructs the registry cannot honour", function () {
    const base: ConsentProvision = { type: "permit", actor: [recipient(CLINIC)], ...treatAccess };
    const cases: [string, Consent, string][] = [
      [
        "an unknown purpose in a nested provision",
        consentWith({
          ...base,
          provision: [
            { type: "permit", class: [{ system: CATEGORY_SYSTEM, code: "genomics" }] },
            { type: "permit", purpose: [{ system: PURPOSE_SYSTEM, code: "XYZ" }] },
          ],
        }),
        "Consent.provision.provision[1].purpose[0]: unknown purpose code XYZ",
      ],
      [
        "a purpose of another system",
        consentWith({ ...base, purpose: [{ system: "http://snomed.info/sct", code: "TREAT" }] }),
        "Consent.provision.purpose[0]: unsupported purpose system http://snomed.info/sct",
      ],
      [
        "an action outside consentaction",
        consentWith({ ...base, action: [{ coding: [{ system: "http://example.org", code: "read" }] }] }),
        "Consent.provision.action[0]: action code read is not in http://terminology.hl7.org/CodeSystem/consentaction",
      ],
      [
        "a data period",
        consentWith({ ...base, dataPeriod: { start: "2020-01-01" } }),
        "Consent.provision.dataPeriod: the registry cannot limit a consent to data of some dates",
      ],
      [
        "an unsupported security label",
        consentWith({ ...base, securityLabel: [{ system: ACT_CODE_SYSTEM, code: "HIV" }] }),
        "Consent.provision.securityLabel[0]: unsupported security label",
      ],
      ["a permit without actor", consentWith({ ...base, actor: undefined }), "Consent.provision.actor: missing"],
      [
        "an actor without an eip155 identifier",
        consentWith({
          ...base,
          actor: [{ role: recipient(CLINIC).role, reference: { reference: "Practitioner/1" } }],
        }),
        "Consent.provision.actor[0].reference: cannot resolve Practitioner/1 to an account",
      ],
      [
        "an actor with an NPI",
        consentWith({
          ...base,
          actor: [
            {
              role: recipient(CLINIC).role,
              reference: { identifier: { system: "http://hl7.org/fhir/sid/us-npi", value: "1234567890" } },
            },
          ],
        }),
        "Consent.provision.actor[0].reference: cannot resolve identifier http://hl7.org/fhir/sid/us-npi|1234567890",
      ],
      [
        "an actor of another role",
        consentWith({
          ...base,
          actor: [{ ...recipient(CLINIC), role: { coding: [{ system: PARTICIPATION_TYPE_SYSTEM, code: "AUT" }] } }],
        }),
        "Consent.provision.actor[0].role: the role http://terminology.hl7.org/CodeSystem/v3-ParticipationType#AUT is neither a recipient nor a custodian",
      ],
      [
        "an actor on another chain",
        consentWith({
          ...base,
          actor: [
            { ...recipient(CLINIC), reference: { identifier: { system: URI_SYSTEM, value: `eip155:1:${CLINIC}` } } },
          ],
        }),
        "Consent.provision.actor[0].reference.identifier: account eip155:1:",
      ],
      [
        "a permit without end",
        consentWith({ ...base, period: { start: "2026-01-01" } }),
        "Consent.provision.period.end: missing",
      ],
      [
        "an invalid date",
        consentWith({ ...base, period: { end: "next year" } }),
        'Consent.provision.period.end: invalid dateTime "next year"',
      ],
      [
        "a policy rule other than opt-in or opt-out",
        consentWith(base, { policyRule: { coding: [{ system: ACT_CODE_SYSTEM, code: "OPTOUTE" }] } }),
        "Consent.policyRule: cannot honour policy rule",
      ],
      [
        "a policy by URI",
        consentWith(base, { policy: [{ uri: "https://www.hhs.gov/hipaa" }] }),
        "Consent.policy[0].uri: cannot honour policy https://www.hhs.gov/hipaa",
      ],
      [
        "another registry",
        consentWith(base, { policy: [{ authority: `eip155:${CHAIN}:${CLINIC}` }] }),
        "Consent.policy[0].authority: consent for registry",
      ],
      ["an inactive consent", consentWith(base, { status: "inactive" }), "Consent.status: only an active consent"],
      [
        "a research scope",
        consentWith(base, { scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: "research" }] } }),
        "Consent.scope: only",
      ],
      [
        "a permit nested in a deny",
        consentWith({ type: "deny", actor: [recipient(CLINIC)], provision: [{ ...base }] }),
        "Consent.provision.provision[0]: a permit nested in a deny cannot be honoured",
      ],
      [
        "a deny limited to purposes",
        consentWith({ type: "deny", actor: [recipient(CLINIC)], purpose: treatAccess.purpose }),
        "Consent.provision.purpose: a deny limited to some purposes cannot be held",
      ],
      [
        "class and security label together",
        consentWith({
          ...base,
          class: [{ system: CATEGORY_SYSTEM, code: "laboratory" }],
          securityLabel: [{ system: ACT_CODE_SYSTEM, code: "PSY" }],
        }),
        "Consent.provision: class and securityLabel name different data",
      ],
      [
        "a class of another system",
        consentWith({ ...base, class: [{ system: "http://loinc.org", code: "11503-0" }] }),
        "Consent.provision.class[0]: unsupported class",
      ],
      [
        "data related to a record",
        consentWith({ ...base, data: [{ meaning: "related", reference: { reference: "DocumentReference/1" } }] }),
        "Consent.provision.data[0].meaning: unsupported meaning related",
      ],
      ["no provision", consentWith(base, { provision: undefined }), "Consent.provision: missing"],
      [
        "another patient",
        consentWith(base, { patient: { identifier: account(LAB) } }),
        `Consent.patient: the consent is for ${LAB}, not for ${PATIENT}`,
      ],
    ];
    for (const [what, resource, message] of cases) {
      it(`should name the field of ${what}`, function () {
        expect(() => fromFhirConsent(resource, { chainId: CHAIN, registry: REGISTRY, patient: PATIENT })).to.throw(
          Error,
          message,
        );
      });
    }
  });
});
