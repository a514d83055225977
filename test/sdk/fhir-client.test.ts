/**
 * The FHIR side of the SDK client and the command line, on the in-process Hardhat network: the patient's picture as a
 * Bundle (`client.fhirConsentBundle`), a published HL7 example applied by an EHR (`applyFhirConsent`, its revokeAll
 * first), and `access:export --format fhir` run for real.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AuditEvent, Bundle, Consent } from "fhir/r4";

import { Action, ConsentStatus, Purpose } from "../../src/codes";
import { saveDeployment } from "../../src/deployment";
import { ACT_CODE_SYSTEM, PARTICIPATION_TYPE_SYSTEM, fromFhirConsent } from "../../src/fhir";
import { example, resolve } from "../fixtures/fhir/examples";
import { r4Problems } from "../fixtures/fhir/validate";
import { DAY } from "../helpers/fixtures";
import { deploySdk } from "./fixture";

const { ethers } = hre;

async function withConsents() {
  const fixture = await deploySdk();
  const { patientClient, clinic, lab } = fixture;
  const expiresAt = (await time.latest()) + 30 * DAY;
  const lab30 = { category: "laboratory", purposes: [Purpose.TREAT], actions: [Action.ACCESS], expiresAt };
  await patientClient.grant({ ...lab30, grantee: clinic.address });
  await patientClient.grant({ ...lab30, grantee: lab.address });
  await patientClient.grant({ ...lab30, grantee: clinic.address, category: "imaging" });
  await patientClient.revoke(lab.address, "laboratory");
  await patientClient.deny(lab.address, "genomics");
  return { ...fixture, expiresAt };
}

describe("FHIR through the client and the command line", function () {
  this.timeout(120_000); // the first validation compiles HL7's R4 JSON schema

  describe("client.fhirConsentBundle(patient)", function () {
    it("should give a valid R4 collection Bundle with one Consent per current consent key", async function () {
      const { patientClient, client, patient, clinic, lab, other } = await loadFixture(withConsents);
      const bundle = await client(other).fhirConsentBundle(patient.address);
      expect(r4Problems(bundle)).to.deep.equal([]);
      expect(bundle.type).to.equal("collection");
      const current = await patientClient.currentConsents(patient.address);
      expect(bundle.entry).to.have.length(current.length).and.length(4);
      const keys = (bundle.entry ?? []).map((e) => {
        const consent = e.resource as Consent;
        const actor = consent.provision?.actor?.[0].reference.identifier?.value ?? "";
        const code = consent.provision?.class?.find((c) => c.system === "urn:consent-anchor:category")?.code;
        return `${actor.split(":")[2]} ${code} ${consent.status} ${consent.policyRule?.coding?.[0].code}`;
      });
      expect(keys).to.have.members([
        `${clinic.address} laboratory active OPTIN`,
        `${clinic.address} imaging active OPTIN`,
        `${lab.address} laboratory inactive OPTIN`,
        `${lab.address} genomics active OPTOUT`,
      ]);
      const active = (bundle.entry ?? []).map((e) => e.resource as Consent).filter((c) => c.status === "active");
      const calls = active.flatMap((consent) => fromFhirConsent(consent, { patient: patient.address }));
      expect(calls.map((c) => c.kind)).to.have.members(["grant", "grant", "deny"]);
    });
  });

  describe("client.applyFhirConsent", function () {
    it("should run the revokeAll of a consent first, then its other calls", async function () {
      const { patientClient, patient, clinic, lab } = await loadFixture(withConsents);
      const resource: Consent = {
        ...example("Out"),
        provision: {
          actor: example("Out").provision?.actor,
          provision: [
            {
              type: "deny",
              actor: [
                {
                  role: { coding: [{ system: PARTICIPATION_TYPE_SYSTEM, code: "IRCP" }] },
                  reference: { reference: "Practitioner/f204" },
                },
              ],
            },
          ],
        },
      };
      const receipts = await patientClient.applyFhirConsent(resource, { resolve });
      const events = receipts.map((receipt) =>
        receipt.logs.map((log) => patientClient.consents.interface.parseLog(log)?.name).filter(Boolean),
      );
      expect(events[0]).to.include("AllConsentsRevoked");
      expect(events[1]).to.deep.equal(["ConsentDenied"]);
      expect((await patientClient.consentOf(patient.address, clinic.address, "laboratory")).status).to.equal(
        ConsentStatus.Revoked,
      );
      expect((await patientClient.consentOf(patient.address, lab.address, "*")).status).to.equal(ConsentStatus.Denied);
    });

    it('should apply the published consent-example-notOrg with the EHR\'s resolve and limitedDenies: "deny-all"', async function () {
      const { patientClient, patient, clinic } = await loadFixture(withConsents);
      await expect(patientClient.applyFhirConsent(example("notOrg"), { resolve })).to.be.rejectedWith(
        "Consent.provision.action: a deny limited to some actions cannot be held",
      );
      const receipts = await patientClient.applyFhirConsent(example("notOrg"), { resolve, limitedDenies: "deny-all" });
      expect(receipts).to.have.length(1);
      // A deny of every category: it wins over the clinic's laboratory permit, which stays stored.
      expect((await patientClient.consentOf(patient.address, clinic.address, "*")).status).to.equal(
        ConsentStatus.Denied,
      );
      expect(
        await patientClient.isAuthorized(patient.address, clinic.address, "laboratory", Purpose.TREAT, Action.ACCESS),
      ).to.equal(false);
      const bundle = await patientClient.fhirConsentBundle(patient.address);
      expect(r4Problems(bundle)).to.deep.equal([]);
      const denied = (bundle.entry ?? [])
        .map((e) => e.resource as Consent)
        .filter((c) => c.policyRule?.coding?.[0].code === "OPTOUT" && c.provision?.class === undefined);
      expect(denied.map((c) => c.provision?.actor?.[0].reference.identifier?.value)).to.deep.equal([
        `eip155:31337:${clinic.address}`,
      ]);
      expect(denied[0].policyRule?.coding?.[0].system).to.equal(ACT_CODE_SYSTEM);
    });
  });

  describe("access:export --format fhir", function () {
    it("should write a valid R4 Bundle of AuditEvents for the patient's trail", async function () {
      const { patient, deployment, admin, clinicClient } = await loadFixture(withConsents);
      await clinicClient.recordAccess(patient.address, "laboratory", Purpose.TREAT, Action.ACCESS, ethers.ZeroHash);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "access-export-"));
      const previous = { dir: process.env.DEPLOYMENTS_DIR, exitCode: process.exitCode };
      try {
        process.env.DEPLOYMENTS_DIR = dir;
        saveDeployment(
          {
            ...deployment,
            network: hre.network.name,
            chainId: deployment.chainId ?? 31337,
            deploymentBlock: deployment.deploymentBlock ?? 0,
            deployer: admin.address,
            registryAdmin: admin.address,
            transactions: {},
            deployedAt: new Date().toISOString(),
          },
          dir,
        );
        const file = path.join(dir, "audit.json");
        await hre.run("access:export", { patient: patient.address, format: "fhir", out: file });
        expect(process.exitCode ?? 0, "the task reported an error").to.equal(0);
        const bundle = JSON.parse(fs.readFileSync(file, "utf8")) as Bundle<AuditEvent>;
        expect(r4Problems(bundle)).to.deep.equal([]);
        expect(bundle.resourceType).to.equal("Bundle");
        expect(bundle.type).to.equal("collection");
        const resources = (bundle.entry ?? []).map((e) => e.resource);
        expect(resources.every((r) => r?.resourceType === "AuditEvent")).to.equal(true);
        const kinds = resources.map((r) => r?.subtype?.find((c) => c.system === "urn:consent-anchor:event")?.code);
        expect(kinds).to.deep.equal([
          "ConsentGranted",
          "ConsentGranted",
          "ConsentGranted",
          "ConsentRevoked",
          "ConsentDenied",
          "AccessRecorded",
        ]);
      } finally {
        process.env.DEPLOYMENTS_DIR = previous.dir;
        if (previous.dir === undefined) delete process.env.DEPLOYMENTS_DIR;
        process.exitCode = previous.exitCode;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
