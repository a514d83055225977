/**
 * access:export: a patient's accounting of disclosures (recorded accesses, break-glass windows) and consent changes
 * as a FHIR R4 Bundle of AuditEvents.
 */
import fs from "node:fs";
import { task } from "hardhat/config";

import { UserError, cliAction, parseAddress, taskContext } from "./cli";

interface ExportArgs {
  patient?: string;
  format?: string;
  out?: string;
}

task("access:export", "Exports a patient's access trail and consent changes (read-only)")
  .addOptionalParam("patient", "The patient (required)")
  .addOptionalParam("format", `The output format: "fhir" (a FHIR R4 Bundle of AuditEvents)`, "fhir")
  .addOptionalParam("out", "A file to write; default standard output")
  .setAction(
    cliAction(async (args: ExportArgs, hre) => {
      const patient = parseAddress(args.patient, "patient");
      const format = (args.format ?? "fhir").trim().toLowerCase();
      if (format !== "fhir") throw new UserError(`--format ${args.format}: the only format is "fhir"`);
      const { client, deployment, now } = await taskContext(hre, { sign: false });
      const { toFhirAuditEvents, fhirAuditBundle } = await import("../src/fhir");
      const [accesses, changes] = await Promise.all([client.accessHistory(patient), client.consentHistory(patient)]);
      const events = toFhirAuditEvents([...accesses, ...changes], {
        chainId: deployment.chainId,
        registry: deployment.consentRegistry,
      });
      const json = JSON.stringify(fhirAuditBundle(events, now), null, 2);
      if (args.out?.trim()) {
        fs.writeFileSync(args.out.trim(), `${json}\n`);
        console.log(`Wrote ${events.length} AuditEvent(s) for ${patient} to ${args.out.trim()}`);
      } else {
        console.log(json);
      }
    }),
  );
