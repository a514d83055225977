/**
 * The official HL7 R4 Consent examples (test/fixtures/fhir/, their source in its README), each imported with the
 * exact calls or refused with its path and a sentence, checked against what its narrative says.
 */
import { expect } from "chai";
import { ethers } from "hardhat";

import { Action, Purpose } from "../../src/codes";
import { RESOURCE_TYPES_SYSTEM, fromFhirConsent, type FromFhirConsentOptions } from "../../src/fhir";
import { CLINIC, EXAMPLES, GUARDIAN, PATIENT, example, resolve } from "../fixtures/fhir/examples";
import { r4Problems } from "../fixtures/fhir/validate";

/** Every option a caller may add: none of them lets an example through that should be refused. */
const EVERY_OPTION: FromFhirConsentOptions = {
  resolve,
  openEnded: { expiresAt: Date.parse("2030-01-01T00:00:00Z") / 1000 },
  limitedDenies: "deny-all",
};

describe("the HL7 R4 Consent examples", function () {
  this.timeout(60_000); // the first validation compiles HL7's R4 JSON schema

  it("should all be valid R4 as shipped", function () {
    for (const name of EXAMPLES) expect(r4Problems(example(name)), name).to.deep.equal([]);
  });

  describe("imported with the meaning their narrative states", function () {
    it("consent-example-Out: no data for anyone (OPTOUT, a custodian only) is one revokeAll", function () {
      expect(fromFhirConsent(example("Out"), { resolve, patient: PATIENT })).to.deep.equal([
        { kind: "revokeAll", path: "Consent.provision" },
      ]);
    });

    it('consent-example-notOrg: withhold from Good Health Clinic is a deny of every category, with limitedDenies: "deny-all"', function () {
      // Its root deny lists the actions access and correct; the narrative withholds "any instance" from the clinic.
      expect(() => fromFhirConsent(example("notOrg"), { resolve })).to.throw(
        "Consent.provision.action: a deny limited to some actions cannot be held: the registry's deny covers every " +
          'purpose and every action until it is revoked; pass limitedDenies: "deny-all"',
      );
      expect(
        fromFhirConsent(example("notOrg"), { resolve, limitedDenies: "deny-all", patient: PATIENT }),
      ).to.deep.equal([{ kind: "deny", path: "Consent.provision", grantee: CLINIC, category: "*" }]);
    });

    it("should name the reference it cannot resolve when no resolve is given", function () {
      expect(() => fromFhirConsent(example("Out"))).to.throw(
        'Consent.patient: cannot resolve Patient/f001 "P. van de Heuvel" to an account',
      );
    });
  });

  describe("coded against their narrative: refused by default, and read as coded under the options", function () {
    it("consent-example-notThem: its narrative withholds from a nurse, its coding (OPTIN, no type) permits her", function () {
      expect(() => fromFhirConsent(example("notThem"), { resolve })).to.throw(
        "Consent.provision.period.end: missing: FHIR reads a permit without an end as ongoing",
      );
    });

    it("consent-example-grantor: its narrative gives read access, its coding (OPTOUT, an action) denies it", function () {
      expect(() => fromFhirConsent(example("grantor"), { resolve })).to.throw(
        "Consent.provision.action: a deny limited to some actions cannot be held",
      );
      // Never wider than coded: the opt-in holds the coded deny, stricter, not the narrative's permit.
      expect(fromFhirConsent(example("grantor"), { resolve, limitedDenies: "deny-all" })).to.deep.equal([
        { kind: "deny", path: "Consent.provision", grantee: GUARDIAN, category: "*" },
      ]);
    });
  });

  describe("refused, whatever the options, with the path and why", function () {
    const refused: [(typeof EXAMPLES)[number], string][] = [
      // "deny all but ETREAT at Good Health": a deny of a purpose to no one in particular, with no recipient anywhere
      [
        "Emergency",
        "Consent.provision.purpose: a deny limited to some purposes cannot be held: the registry's deny covers every " +
          "purpose and every action until it is revoked",
      ],
      // "records authored by Good Health withheld from every provider": a permit to no one (OPTIN, custodian only)
      ["notAuthor", "Consent.provision.actor: missing: a permit must name its recipient"],
      // "data from a timeframe withheld": a permit of a period to no one
      ["notTime", "Consent.provision.actor: missing: a permit must name its recipient"],
      // an app may read MedicationRequests for 30 minutes: the app is named nowhere
      ["smartonfhir", "Consent.provision.actor: missing: a permit must name its recipient"],
      // a practitioner may see CDA documents of some LOINC codes by an author: document codes and an author
      [
        "signature",
        "Consent.provision.provision[0].code: the registry cannot limit a consent to documents of some codes",
      ],
    ];
    for (const [name, message] of refused) {
      it(`consent-example-${name}`, function () {
        expect(() => fromFhirConsent(example(name), { resolve })).to.throw(Error, message);
        expect(() => fromFhirConsent(example(name), EVERY_OPTION)).to.throw(Error, message);
      });
    }

    it("consent-example-notThem and -notOrg without their options", function () {
      expect(() => fromFhirConsent(example("notThem"), { ...EVERY_OPTION, openEnded: undefined })).to.throw(
        "Consent.provision.period.end: missing",
      );
      expect(() => fromFhirConsent(example("notOrg"), { ...EVERY_OPTION, limitedDenies: "refuse" })).to.throw(
        "Consent.provision.action: a deny limited to some actions cannot be held",
      );
    });
  });

  describe("adapted to what the registry holds", function () {
    it("should refuse a nested deny inside a time-limited permit rather than widen it (notThem adapted)", function () {
      const resource = example("notThem");
      resource.provision = {
        actor: [{ ...(resource.provision?.actor ?? [])[0], reference: { reference: "Organization/f001" } }],
        purpose: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActReason", code: "TREAT" }],
        action: resource.provision?.action,
        period: { start: "2026-01-01", end: "2026-12-31" },
        provision: [{ type: "deny", actor: resource.provision?.actor }],
      };
      expect(() => fromFhirConsent(resource, { resolve })).to.throw(
        "Consent.provision.provision[0]: this deny is an exception to Consent.provision, which is limited in time, so " +
          "it is limited the same way",
      );
    });

    it("should import resource types as categories, with the default map or an override (smartonfhir adapted)", function () {
      const resource = example("smartonfhir");
      const provision = resource.provision ?? {};
      provision.actor = [
        {
          role: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: "IRCP" }] },
          reference: { reference: "Organization/f001" },
        },
      ];
      provision.purpose = [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActReason", code: "PATRQT" }];
      // Under OPTIN the root's conditions are the permit: the nested rule's action and class move up.
      provision.action = provision.provision?.[0].action;
      provision.class = provision.provision?.[0].class;
      delete provision.provision;
      const [call] = fromFhirConsent(resource, { resolve });
      expect(call).to.deep.equal({
        kind: "grant",
        path: "Consent.provision",
        params: {
          grantee: CLINIC,
          category: "medications",
          purposes: [Purpose.PATRQT],
          actions: [Action.ACCESS],
          notBefore: Date.parse("2016-06-23T07:02:33Z") / 1000,
          expiresAt: Date.parse("2016-06-23T07:32:33Z") / 1000 + 1,
        },
      });
      const [overridden] = fromFhirConsent(resource, {
        resolve,
        resourceTypeCategories: { MedicationRequest: "prescriptions" },
      });
      expect(overridden.kind === "grant" && overridden.params.category).to.equal(ethers.id("prescriptions"));
      provision.class = [{ system: RESOURCE_TYPES_SYSTEM, code: "Encounter" }];
      expect(() => fromFhirConsent(resource, { resolve })).to.throw(
        "Consent.provision.class[0]: resource type Encounter maps to no category",
      );
    });
  });
});
