import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import fs from "node:fs";
import path from "node:path";
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
  type FhirReferenceResolver,
} from "../../src/fhir";
import { r4Problems } from "../fixtures/fhir/validate";
import { DAY } from "../helpers/fixtures";
import { deploySdk } from "./fixture";

const PATIENT = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const CLINIC = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const NURSE = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const GUARDIAN = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const RELAYER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const CHAIN = 31337;

/** The EHR's directory: who each reference of the HL7 examples is on chain. */
const DIRECTORY: Record<string, string> = {
  "Patient/f001": PATIENT,
  "Patient/xcda": PATIENT,
  "Patient/72": PATIENT,
  "Patient/example": GUARDIAN,
  "Organization/f001": CLINIC,
  "Practitioner/f204": NURSE,
  "Practitioner/13": NURSE,
  "Practitioner/xcda-author": NURSE,
};
const resolve: FhirReferenceResolver = (reference) => DIRECTORY[reference.reference ?? ""];

function example(name: string): Consent {
  const file = path.join(__dirname, "..", "fixtures", "fhir", `consent-example-${name}.json`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Consent;
}

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

  describe("the R4 validator", function () {
    it("should refuse what is not R4", function () {
      const resource = toFhirConsent({
        patient: PATIENT,
        grantee: CLINIC,
        category: "laboratory",
        consent: permit,
        status: ConsentStatus.Active,
      });
      expect(r4Problems({ ...resource, provision: { ...resource.provision, type: "allow" } })).to.not.be.empty;
      expect(r4Problems({ ...resource, unknownField: 1 })).to.not.be.empty;
      expect(r4Problems({ ...resource, status: undefined })).to.deep.equal(["Consent.status: required"]);
      expect(r4Problems({ resourceType: "AuditEvent", type: {}, agent: [{}], source: { observer: {} } })).to.include(
        "AuditEvent.recorded: required",
      );
    });

    it("should accept every HL7 example shipped as a fixture", function () {
      for (const name of ["Out", "Emergency", "grantor", "notAuthor", "notOrg", "notThem", "notTime"]) {
        expect(r4Problems(example(name)), name).to.deep.equal([]);
      }
    });
  });

  describe("importing the HL7 R4 Consent examples", function () {
    it("should read consent-example-Out as no standing permits, given a resolve for its references", function () {
      expect(fromFhirConsent(example("Out"), { resolve, patient: PATIENT })).to.deep.equal([
        { kind: "revokeAll", path: "Consent.provision" },
      ]);
    });

    it("should name the reference it cannot resolve when no resolve is given", function () {
      expect(() => fromFhirConsent(example("Out"))).to.throw(
        'Consent.patient: cannot resolve Patient/f001 "P. van de Heuvel" to an account',
      );
    });

    const refused: [string, string][] = [
      ["notOrg", "Consent.provision.action: a deny limited to some actions cannot be held"],
      ["grantor", "Consent.provision.action: a deny limited to some actions cannot be held"],
      ["Emergency", "Consent.provision.purpose: a deny limited to some purposes cannot be held"],
      ["notThem", "Consent.provision.purpose: missing: list the purposes the permit covers"],
      ["notAuthor", "Consent.provision.actor: missing: a permit must name its recipient"],
      ["notTime", "Consent.provision.actor: missing: a permit must name its recipient"],
      ["smartonfhir", "Consent.provision.actor: missing: a permit must name its recipient"],
      ["signature", "Consent.provision.purpose: missing: list the purposes the permit covers"],
    ];
    for (const [name, message] of refused) {
      it(`should refuse consent-example-${name}, naming the path and why`, function () {
        expect(() => fromFhirConsent(example(name), { resolve })).to.throw(Error, message);
      });
    }

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
        "Consent.provision.provision[0]: this deny is an exception to Consent.provision, which is limited by purpose, " +
          "action or period",
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
