/**
 * access:export: a patient's accounting of disclosures (recorded accesses, break-glass windows) and consent changes
 * as a FHIR R4 Bundle of AuditEvents.
 */
import { UserError, cliAction, cliTask, parseAddress, taskContext, type CommonArgs } from "./cli";
import { checkOutputFile, writeOutputFile } from "./lib/files";
import { INDEXER_OPTION_HELP, historySourceOption } from "./lib/indexer";

interface ExportArgs extends CommonArgs {
  patient?: string;
  format?: string;
  out?: string;
  force?: boolean;
  indexer?: string;
}

cliTask("access:export", "Exports a patient's access trail and consent changes (read-only)")
  .addOptionalParam("patient", "The patient (required)")
  .addOptionalParam("format", `The output format: "fhir" (a FHIR R4 Bundle of AuditEvents)`, "fhir")
  .addOptionalParam("out", "A file to write (an existing file is kept unless --force); default standard output")
  .addFlag("force", "Replace --out if it exists")
  .addOptionalParam("indexer", INDEXER_OPTION_HELP)
  .setAction(
    cliAction(async (args: ExportArgs, hre, out) => {
      const patient = parseAddress(args.patient, "patient");
      const format = (args.format ?? "fhir").trim().toLowerCase();
      if (format !== "fhir") throw new UserError(`--format ${args.format}: the only format is "fhir"`);
      const file = args.out?.trim() ? checkOutputFile(args.out.trim(), "out", Boolean(args.force)) : undefined;
      const { client, deployment, now } = await taskContext(hre, { sign: false });
      const { toFhirAuditEvents, fhirAuditBundle } = await import("../src/fhir");
      const source = historySourceOption(args.indexer);
      const [accesses, changes] = await Promise.all([
        client.accessHistory(patient, source),
        client.consentHistory(patient, source),
      ]);
      const events = toFhirAuditEvents([...accesses, ...changes], {
        chainId: deployment.chainId,
        registry: deployment.consentRegistry,
      });
      const bundle = fhirAuditBundle(events, now);
      if (file) {
        writeOutputFile(file, `${JSON.stringify(bundle, null, 2)}\n`);
        out.say(`Wrote ${events.length} AuditEvent(s) for ${patient} to ${file.path}`);
        out.result({ patient, file: file.path, auditEvents: events.length });
      } else if (args.json) {
        out.result({ patient, auditEvents: events.length, bundle });
      } else {
        console.log(JSON.stringify(bundle, null, 2));
      }
    }),
  );
