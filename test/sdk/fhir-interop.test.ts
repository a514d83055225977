import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Consent, Reference } from "fhir/r4";

import { Action, ConsentStatus, Decision, Purpose, actionMask, purposeMask } from "../../src/codes";
import type { HistoryEvent } from "../../src/history";
import {
  ACT_CODE_SYSTEM,
  NPI_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  URI_SYSTEM,
  combineResolvers,
  fhirAuditBundle,
  fhirConsentBundle,
  fromFhirConsent,
  providerIdentifierResolver,
  readFhirConsentBundle,
  toFhirAuditEvents,
  toFhirConsent,
  type AuditableEvent,
} from "../../src/fhir";
import { CLINIC, DIRECTORY, GUARDIAN, NURSE, PATIENT, example, resolve } from "../fixtures/fhir/examples";
import { r4Problems } from "../fixtures/fhir/validate";
import { DAY } from "../helpers/fixtures";
import { deploySdk } from "./fixture";

const RELAYER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const CHAIN = 31337;

function expectValidR4(resource: object): void {
  expect(r4Problems(resource)).to.deep.equal([]);
}

const permit = {
  purposes: purposeMask(Purpose.TREAT, Purpose.CAREMGT),
  actions: actionMask(Action.ACCESS, Action.USE),
  notBefore: 1_767_225_600, // 2026-01-01T00:00:00Z
  expiresAt: 1_798_761_600, // 2027-01-01T00:00:00Z
  issuedAt: 1_767_225_600,
  epoch: 0,
  decision: Decision.Permit,
};
const deny = { ...permit, purposes: 0, actions: 0, notBefore: 0, expiresAt: 0, decision: Decision.Deny };

describe("fhir interoperability", function () {
  this.timeout(60_000); // the first validation compiles HL7's R4 JSON schema

  describe("resolving references", function () {
    const base = (actorReference: Reference, extra: Partial<Consent> = {}): Consent => ({
      ...example("Out"),
      provision: {
        actor: [
          {
            role: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: "PRCP" }] },
            reference: actorReference,
          },
        ],
      },
      ...extra,
    });

    it("should resolve a contained resource by its account identifier and pass the path and role", function () {
      const seen: string[] = [];
      const calls = fromFhirConsent(
        base(
          { reference: "#nurse" },
          {
            contained: [
              {
                resourceType: "Practitioner",
                id: "nurse",
                identifier: [{ system: URI_SYSTEM, value: `eip155:${CHAIN}:${NURSE}` }],
              },
            ],
          },
        ),
        {
          chainId: CHAIN,
          resolve: (reference, context) => {
            seen.push(`${context.role} ${context.path}`);
            return resolve(reference, context);
          },
        },
      );
      expect(calls).to.deep.equal([{ kind: "deny", path: "Consent.provision", grantee: NURSE, category: "*" }]);
      expect(seen).to.include.members(["patient Consent.patient", "actor Consent.provision.actor[0].reference"]);
    });

    it("should refuse a resolve answer that is not an address, and a contained id that is not there", function () {
      expect(() => fromFhirConsent(base({ reference: "Practitioner/f204" }), { resolve: () => "nurse" })).to.throw(
        'Consent.patient: resolve returned "nurse"',
      );
      expect(() => fromFhirConsent(base({ reference: "#missing" }), { resolve })).to.throw(
        "Consent.provision.actor[0].reference: #missing names no contained resource",
      );
    });

    it("should find a provider by the NPI it was registered with", async function () {
      const { providers, clinic } = await loadFixture(deploySdk);
      const byNpi = await providerIdentifierResolver(providers);
      const calls = fromFhirConsent(base({ identifier: { system: NPI_SYSTEM, value: "clinic" } }), {
        resolve: combineResolvers(byNpi, resolve),
      });
      expect(calls).to.deep.equal([
        { kind: "deny", path: "Consent.provision", grantee: clinic.address, category: "*" },
      ]);
      expect(() =>
        fromFhirConsent(base({ identifier: { system: NPI_SYSTEM, value: "unknown" } }), {
          resolve: combineResolvers(byNpi, resolve),
        }),
      ).to.throw(
        "Consent.provision.actor[0].reference: cannot resolve identifier http://hl7.org/fhir/sid/us-npi|unknown",
      );
    });
  });

  describe("exporting strict R4 and reading it back", function () {
    const cases: [string, string, typeof permit, ConsentStatus][] = [
      ["a permit for laboratory data", "laboratory", permit, ConsentStatus.Active],
      ["a permit for medications", "medications", permit, ConsentStatus.Pending],
      ["a permit for mental-health data", "mental-health", permit, ConsentStatus.Active],
      ["a permit for every category", "*", permit, ConsentStatus.Active],
      ["a permit for one record", ethers.id("record"), permit, ConsentStatus.Active],
      ["a deny of genomics", "genomics", deny, ConsentStatus.Denied],
      ["a deny of every category", "*", deny, ConsentStatus.Denied],
    ];
    for (const [what, category, consent, status] of cases) {
      it(`should give back the same call for ${what}, through valid R4`, function () {
        const resource = toFhirConsent({
          patient: PATIENT,
          grantee: CLINIC,
          category,
          consent,
          status,
          chainId: CHAIN,
          registry: REGISTRY,
        });
        expectValidR4(resource);
        expect(resource.provision).to.not.have.property("type");
        const calls = fromFhirConsent(JSON.parse(JSON.stringify(resource)) as Consent, {
          chainId: CHAIN,
          registry: REGISTRY,
          patient: PATIENT,
        });
        const expected =
          consent.decision === Decision.Deny
            ? { kind: "deny", path: "Consent.provision", grantee: CLINIC, category }
            : {
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
              };
        expect(calls).to.deep.equal([expected]);
      });
    }

    it("should give categories their standard codings and keep the project's code", function () {
      const meds = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: "medications",
        consent: permit,
        status: 1,
      });
      expect(meds.provision?.class?.map((c) => c.code)).to.deep.equal([
        "MedicationAdministration",
        "MedicationDispense",
        "MedicationRequest",
        "MedicationStatement",
        "medications",
      ]);
      const psy = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: "mental-health",
        consent: deny,
        status: 5,
      });
      expect(psy.provision?.securityLabel).to.deep.equal([
        { system: ACT_CODE_SYSTEM, code: "PSY", display: "psychiatry disorder information sensitivity" },
      ]);
      expect(psy.policyRule?.coding?.[0].code).to.equal("OPTOUT");
    });

    it("should name accounts by the EHR's references when a reverse resolve is given", function () {
      const resource = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: "imaging",
        consent: permit,
        status: ConsentStatus.Active,
        resolve: (address) =>
          Object.entries(DIRECTORY)
            .filter(([, account]) => account === address)
            .map(([reference]): Reference => ({ reference }))[0],
      });
      expectValidR4(resource);
      expect(resource.patient).to.deep.equal({ reference: "Patient/f001" });
      expect(resource.provision?.actor?.[0].reference).to.deep.equal({ reference: "Organization/f001" });
      const [call] = fromFhirConsent(resource, { resolve });
      expect(call.kind === "grant" && call.params.grantee).to.equal(CLINIC);
    });
  });

  describe("fhirConsentBundle", function () {
    it("should collect one valid Consent per stored key, leaving out keys with nothing stored", function () {
      const bundle = fhirConsentBundle({
        patient: PATIENT,
        chainId: CHAIN,
        registry: REGISTRY,
        timestamp: permit.issuedAt,
        consents: [
          { grantee: CLINIC, category: "laboratory", consent: permit, status: ConsentStatus.Active },
          { grantee: NURSE, category: "mental-health", consent: deny, status: ConsentStatus.Denied },
          { grantee: NURSE, category: "imaging", consent: permit, status: ConsentStatus.None },
        ],
      });
      expectValidR4(bundle);
      expect(bundle.type).to.equal("collection");
      expect(bundle.entry?.map((e) => e.resource?.policyRule?.coding?.[0].code)).to.deep.equal(["OPTIN", "OPTOUT"]);
    });

    it("should build the picture from the registry's history", async function () {
      const { patientClient, patient, clinic, other } = await loadFixture(deploySdk);
      const expiresAt = (await time.latest()) + 30 * DAY;
      await patientClient.grant({
        grantee: clinic.address,
        category: "laboratory",
        purposes: [Purpose.TREAT],
        actions: [Action.ACCESS],
        expiresAt,
      });
      await patientClient.deny(other.address, "genomics");
      const bundle = await readFhirConsentBundle(patientClient, patient.address);
      expectValidR4(bundle);
      const calls = (bundle.entry ?? []).flatMap((e) => fromFhirConsent(e.resource as Consent));
      expect(calls.map((c) => c.kind)).to.deep.equal(["grant", "deny"]);
      expect(calls[1]).to.deep.include({ grantee: other.address, category: "genomics" });
    });
  });

  describe("toFhirAuditEvents", function () {
    const origin = (logIndex: number) => ({
      blockNumber: 10,
      txHash: ethers.id(`tx${logIndex}`),
      logIndex,
      timestamp: permit.issuedAt + logIndex,
      patient: PATIENT,
    });
    const lab = { category: ethers.id("laboratory"), categoryCode: "laboratory" };
    const events: AuditableEvent[] = [
      {
        ...origin(0),
        ...lab,
        kind: "ConsentGranted",
        grantee: CLINIC,
        purposeMask: 1,
        purposes: ["TREAT"],
        actionMask: 2,
        actions: ["access"],
        notBefore: 0,
        expiresAt: permit.expiresAt,
        by: PATIENT,
        actor: "patient",
        signed: false,
      },
      {
        ...origin(1),
        ...lab,
        kind: "AccessRecorded",
        grantee: CLINIC,
        purpose: "TREAT",
        action: "access",
        recordId: ethers.id("r"),
      },
      {
        ...origin(2),
        ...lab,
        kind: "AccessRecorded",
        grantee: CLINIC,
        purpose: "HPAYMT",
        action: "disclose",
        recordId: ethers.ZeroHash,
      },
      {
        ...origin(3),
        kind: "EmergencyAccessOpened",
        provider: NURSE,
        openedAt: permit.issuedAt,
        expiresAt: permit.issuedAt + DAY,
        reasonHash: ethers.id("why"),
      },
      { ...origin(4), kind: "EmergencyAccessClosed", provider: NURSE, by: GUARDIAN, actor: "delegate" },
      { ...origin(5), ...lab, kind: "ConsentRevoked", grantee: CLINIC, by: RELAYER, actor: "relayer" } as HistoryEvent,
      { ...origin(6), kind: "AllConsentsRevoked", epoch: 1, by: GUARDIAN, actor: "delegate" } as HistoryEvent,
      { ...origin(7), kind: "SignaturesCancelled", signatureEpoch: 2, by: PATIENT, actor: "patient" },
      { ...origin(8), kind: "DelegateSet", delegate: GUARDIAN, expiresAt: permit.expiresAt },
      { ...origin(9), kind: "EmergencyAccessSet", allowed: false, by: PATIENT, actor: "patient" },
      // a history without `by`: the patient is taken as the one who changed it
      { ...origin(10), ...lab, kind: "ConsentDenied", grantee: NURSE } as unknown as AuditableEvent,
    ];

    it("should turn every kind of event into a valid R4 AuditEvent", function () {
      const audit = toFhirAuditEvents(events, { chainId: CHAIN, registry: REGISTRY });
      expect(audit).to.have.length(events.length);
      for (const resource of audit) expectValidR4(resource);
      expectValidR4(fhirAuditBundle(audit, permit.issuedAt));
      expect(audit.map((a) => `${a.type.code} ${a.action}`)).to.deep.equal([
        "110110 C",
        "110110 R",
        "110106 R",
        "110113 E",
        "110113 E",
        "110110 D",
        "110110 D",
        "110110 D",
        "110110 C",
        "110110 U",
        "110110 C",
      ]);
    });

    it("should give an access its time, agent, purpose and entities", function () {
      const [, access] = toFhirAuditEvents(events, { chainId: CHAIN, registry: REGISTRY });
      expect(access.recorded).to.equal("2026-01-01T00:00:01Z");
      expect(access.agent).to.deep.equal([
        {
          type: {
            coding: [
              {
                system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                code: "IRCP",
                display: "information recipient",
              },
            ],
          },
          who: { identifier: { system: URI_SYSTEM, value: `eip155:${CHAIN}:${CLINIC}` } },
          requestor: true,
          purposeOfUse: [
            {
              coding: [
                { system: "http://terminology.hl7.org/CodeSystem/v3-ActReason", code: "TREAT", display: "treatment" },
              ],
            },
          ],
        },
      ]);
      expect(access.entity?.map((e) => e.name ?? e.what?.identifier?.value ?? e.what?.reference)).to.deep.equal([
        `eip155:${CHAIN}:${PATIENT}`,
        "laboratory",
        ethers.id("r"),
        ethers.id("tx1"),
      ]);
      expect(access.entity?.[1].type).to.deep.equal({ system: RESOURCE_TYPES_SYSTEM, code: "Observation" });
    });

    it("should name who changed a consent: the delegate, the patient behind a relayer, else the patient", function () {
      const audit = toFhirAuditEvents(events, {
        resolve: (address, { role }) => (role === "patient" ? { reference: "Patient/f001" } : undefined),
      });
      const agents = (i: number) =>
        audit[i].agent.map(
          (a) => `${a.type?.coding?.[0].code} ${a.who?.reference ?? a.who?.identifier?.value} ${a.requestor}`,
        );
      expect(agents(5)).to.deep.equal(["PAT Patient/f001 true", `110150 ${RELAYER} false`, `IRCP ${CLINIC} false`]);
      expect(agents(6)).to.deep.equal([`AGNT ${GUARDIAN} true`]);
      expect(agents(10)).to.deep.equal(["PAT Patient/f001 true", `IRCP ${NURSE} false`]);
      expect(agents(4)).to.deep.equal([`AGNT ${GUARDIAN} true`, `IRCP ${NURSE} false`]);
    });
  });
});
