import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Consent } from "fhir/r4";

import {
  ACTION_SYSTEM,
  ANY_CATEGORY,
  Action,
  ConsentStatus,
  Decision,
  PURPOSE_SYSTEM,
  Purpose,
  actionMask,
  categoryId,
  purposeMask,
} from "../../src/codes";
import {
  ACT_CODE_SYSTEM,
  CATEGORY_ID_SYSTEM,
  CATEGORY_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  ETHEREUM_ADDRESS_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  RECORD_ID_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  fromFhirConsent,
  toFhirConsent,
  type FhirConsentCall,
} from "../../src/fhir";
import { DAY } from "../helpers/fixtures";
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
import { deploySdk } from "./fixture";

const permit = {
  purposes: purposeMask(Purpose.TREAT, Purpose.CAREMGT),
  actions: actionMask(Action.ACCESS, Action.USE),
  notBefore: 1_767_225_600, // 2026-01-01T00:00:00Z
  expiresAt: 1_798_761_600, // 2027-01-01T00:00:00Z
  issuedAt: 1_767_225_600,
  epoch: 0,
  decision: Decision.Permit,
};

describe("fhir", function () {
  describe("toFhirConsent", function () {
    it("should express an active permit as a strict R4 opt-in consent, its root provision without type", function () {
      const resource = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: "laboratory",
        consent: permit,
        status: ConsentStatus.Active,
        chainId: CHAIN,
        registry: REGISTRY,
      });
      expect(resource).to.deep.equal({
        resourceType: "Consent",
        status: "active",
        scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: "patient-privacy", display: "Privacy Consent" }] },
        category: [{ coding: [{ system: "http://loinc.org", code: "59284-0", display: "Patient Consent" }] }],
        patient: { identifier: account(PATIENT) },
        dateTime: "2026-01-01T00:00:00Z",
        policyRule: { coding: [{ system: ACT_CODE_SYSTEM, code: "OPTIN", display: "opt-in" }] },
        policy: [{ authority: `eip155:${CHAIN}:${REGISTRY}` }],
        provision: {
          actor: [
            {
              role: { coding: [{ system: PARTICIPATION_TYPE_SYSTEM, code: "IRCP", display: "information recipient" }] },
              reference: { identifier: account(CLINIC) },
            },
          ],
          period: { start: "2026-01-01T00:00:00Z", end: "2026-12-31T23:59:59Z" },
          action: [
            { coding: [{ system: ACTION_SYSTEM, code: "access" }] },
            { coding: [{ system: ACTION_SYSTEM, code: "use" }] },
          ],
          purpose: [
            { system: PURPOSE_SYSTEM, code: "TREAT", display: "treatment" },
            { system: PURPOSE_SYSTEM, code: "CAREMGT", display: "care management" },
          ],
          class: [
            { system: RESOURCE_TYPES_SYSTEM, code: "Observation" },
            { system: CATEGORY_SYSTEM, code: "laboratory" },
          ],
        },
      });
    });

    it("should map every status to a Consent.status and a policy rule", function () {
      const expected: [ConsentStatus, Decision, string, string][] = [
        [ConsentStatus.Active, Decision.Permit, "active", "OPTIN"],
        [ConsentStatus.Pending, Decision.Permit, "active", "OPTIN"],
        [ConsentStatus.Expired, Decision.Permit, "inactive", "OPTIN"],
        [ConsentStatus.Revoked, Decision.Revoked, "inactive", "OPTIN"],
        [ConsentStatus.Revoked, Decision.Permit, "inactive", "OPTIN"], // ended by revokeAll
        [ConsentStatus.Denied, Decision.Deny, "active", "OPTOUT"],
      ];
      for (const [status, decision, fhirStatus, rule] of expected) {
        const resource = toFhirConsent({
          patient: PATIENT,
          grantee: CLINIC,
          category: "laboratory",
          consent: { ...permit, decision },
          status,
        });
        expect(resource.status, ConsentStatus[status]).to.equal(fhirStatus);
        expect(resource.policyRule?.coding?.[0].code, ConsentStatus[status]).to.equal(rule);
        expect(resource.provision, ConsentStatus[status]).to.not.have.property("type");
      }
      const deny = { ...permit, purposes: 0, actions: 0, notBefore: 0, expiresAt: 0, decision: Decision.Revoked };
      const withdrawnDeny = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: "*",
        consent: deny,
        status: ConsentStatus.Revoked,
      });
      expect(withdrawnDeny).to.deep.include({ status: "inactive" });
      expect(withdrawnDeny.provision).to.not.have.property("period");
      expect(withdrawnDeny.policyRule?.coding?.[0].code).to.equal("OPTOUT");
      expect(() =>
        toFhirConsent({
          patient: PATIENT,
          grantee: CLINIC,
          category: "*",
          consent: permit,
          status: ConsentStatus.None,
        }),
      ).to.throw(/no consent stored/);
    });

    it("should leave out the class for every category and give unknown ids by id", function () {
      const any = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: ANY_CATEGORY,
        consent: permit,
        status: ConsentStatus.Active,
      });
      expect(any.provision).to.not.have.property("class");
      expect(any.patient?.identifier).to.deep.equal({ system: ETHEREUM_ADDRESS_SYSTEM, value: PATIENT });
      const record = ethers.id("record");
      const byId = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: record,
        consent: permit,
        status: ConsentStatus.Active,
      });
      expect(byId.provision?.class).to.deep.equal([{ system: CATEGORY_ID_SYSTEM, code: record }]);
    });
  });

  describe("fromFhirConsent", function () {
    it("should give back the grant of toFhirConsent", function () {
      for (const category of ["laboratory", "*", ethers.id("record")]) {
        const resource = toFhirConsent({
          patient: PATIENT,
          grantee: CLINIC,
          category,
          consent: permit,
          status: ConsentStatus.Active,
          chainId: CHAIN,
          registry: REGISTRY,
        });
        const calls = fromFhirConsent(JSON.parse(JSON.stringify(resource)) as Consent, {
          chainId: CHAIN,
          registry: REGISTRY,
          patient: PATIENT,
        });
        expect(calls).to.deep.equal([
          {
            kind: "grant",
            path: "Consent.provision",
            params: {
              grantee: CLINIC,
              category,
              purposes: [Purpose.TREAT, Purpose.CAREMGT],
              actions: [Action.ACCESS, Action.USE],
              notBefore: permit.notBefore,
              expiresAt: permit.expiresAt,
            },
          },
        ]);
      }
    });

    it("should give back the deny of toFhirConsent", function () {
      const resource = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: "mental-health",
        consent: { ...permit, purposes: 0, actions: 0, decision: Decision.Deny },
        status: ConsentStatus.Denied,
        chainId: CHAIN,
      });
      expect(fromFhirConsent(resource)).to.deep.equal([
        { kind: "deny", path: "Consent.provision", grantee: CLINIC, category: "mental-health" },
      ]);
    });

    it("should read nested provisions, inheriting what they do not state", function () {
      const resource = consentWith({
        actor: [recipient(CLINIC), recipient(LAB)],
        ...treatAccess,
        class: [
          { system: CATEGORY_SYSTEM, code: "laboratory" },
          { system: CATEGORY_SYSTEM, code: "imaging" },
        ],
        provision: [
          { type: "permit", actor: [recipient(LAB)], securityLabel: [{ system: ACT_CODE_SYSTEM, code: "PSY" }] },
          {
            type: "permit",
            purpose: [{ system: PURPOSE_SYSTEM, code: "HRESCH" }],
            class: [{ system: CATEGORY_SYSTEM, code: "dental" }],
          },
        ],
      });
      const calls = fromFhirConsent(resource);
      const summary = calls.map((c: FhirConsentCall) =>
        c.kind === "grant"
          ? `${c.path} grant ${c.params.grantee} ${c.params.category} ${c.params.purposes.join(",")}`
          : `${c.path} ${c.kind}`,
      );
      expect(summary).to.deep.equal([
        `Consent.provision grant ${CLINIC} laboratory ${Purpose.TREAT}`,
        `Consent.provision grant ${CLINIC} imaging ${Purpose.TREAT}`,
        `Consent.provision grant ${LAB} laboratory ${Purpose.TREAT}`,
        `Consent.provision grant ${LAB} imaging ${Purpose.TREAT}`,
        `Consent.provision.provision[0] grant ${LAB} mental-health ${Purpose.TREAT}`,
        `Consent.provision.provision[1] grant ${CLINIC} ${categoryId("dental")} ${Purpose.HRESCH}`,
        `Consent.provision.provision[1] grant ${LAB} ${categoryId("dental")} ${Purpose.HRESCH}`,
      ]);
      const nested = calls[5];
      expect(nested.kind === "grant" && nested.params.expiresAt).to.equal(Date.parse("2027-01-01T00:00:00Z") / 1000);
    });

    it("should read a root that states its type, records as data, and whole-day periods", function () {
      const record = ethers.id("record");
      const calls = fromFhirConsent(
        consentWith(
          {
            type: "permit",
            actor: [recipient(CLINIC)],
            ...treatAccess,
            period: { start: "2026-03-01", end: "2026-03-31" },
            data: [{ meaning: "instance", reference: { identifier: { system: RECORD_ID_SYSTEM, value: record } } }],
          },
          { policyRule: undefined },
        ),
      );
      expect(calls).to.deep.equal([
        {
          kind: "grant",
          path: "Consent.provision",
          params: {
            grantee: CLINIC,
            category: record,
            purposes: [Purpose.TREAT],
            actions: [Action.ACCESS],
            notBefore: Date.parse("2026-03-01T00:00:00Z") / 1000,
            expiresAt: Date.parse("2026-04-01T00:00:00Z") / 1000,
          },
        },
      ]);
    });

    it("should keep one call per grantee and category: revokeAll first, a deny wins, identical permits once", function () {
      const lab = { class: [{ system: CATEGORY_SYSTEM, code: "laboratory" }] };
      const permitBoth = {
        type: "permit" as const,
        actor: [recipient(CLINIC), recipient(LAB)],
        ...treatAccess,
        ...lab,
      };
      const calls = fromFhirConsent(
        consentWith(
          {
            provision: [permitBoth, { type: "deny", actor: [recipient(LAB)], ...lab }, permitBoth],
          },
          OPTOUT,
        ),
      );
      expect(
        calls.map(
          (c) => `${c.path} ${c.kind} ${c.kind === "grant" ? c.params.grantee : c.kind === "deny" ? c.grantee : ""}`,
        ),
      ).to.deep.equal([
        "Consent.provision revokeAll ",
        `Consent.provision.provision[0] grant ${CLINIC}`,
        `Consent.provision.provision[1] deny ${LAB}`,
      ]);
      expect(() =>
        fromFhirConsent(
          consentWith({
            type: "permit",
            actor: [recipient(CLINIC)],
            ...treatAccess,
            provision: [{ type: "permit", purpose: [{ system: PURPOSE_SYSTEM, code: "HRESCH" }] }],
          }),
        ),
      ).to.throw(
        `Consent.provision.provision[0]: a second, different permit for ${CLINIC} and every category would replace the one of Consent.provision`,
      );
    });
  });

  describe("with the registry", function () {
    async function deployWithGrant() {
      const fixture = await deploySdk();
      const expiresAt = (await time.latest()) + 90 * DAY;
      const params = {
        grantee: fixture.clinic.address,
        category: "medications",
        purposes: [Purpose.TREAT, Purpose.PATRQT],
        actions: [Action.ACCESS, Action.DISCLOSE],
        notBefore: (await time.latest()) + DAY,
        expiresAt,
      };
      await fixture.patientClient.grant(params);
      return { ...fixture, params };
    }

    it("should round-trip a grant read with consentOf through FHIR", async function () {
      const { patientClient, patient, deployment, params } = await loadFixture(deployWithGrant);
      const { consent, status } = await patientClient.consentOf(patient.address, params.grantee, params.category);
      const resource = toFhirConsent({
        patient: patient.address,
        grantee: params.grantee,
        category: params.category,
        consent,
        status,
        chainId: CHAIN,
        registry: deployment.consentRegistry,
      });
      expect(resource.status).to.equal("active"); // pending: the period says when
      const [call] = fromFhirConsent(resource, { chainId: CHAIN, registry: deployment.consentRegistry });
      expect(call).to.deep.equal({ kind: "grant", path: "Consent.provision", params });
    });

    it("should name the provider's stable id as actor after a key rotation", async function () {
      const { patientClient, providers, patient, clinic, other, params } = await loadFixture(deployWithGrant);
      await providers.connect(clinic).rotateKey(other.address); // proposes the new key,
      await providers.connect(other).acceptKey(clinic.address); // which takes over
      const resource = await patientClient.fhirConsent(patient.address, other.address, params.category);
      expect(resource.provision?.actor?.[0].reference.identifier?.value).to.equal(`eip155:${CHAIN}:${clinic.address}`);
    });
  });
});
