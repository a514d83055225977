/** Access history: who accessed what, when and why (break-glass included), and consent changes; FHIR download. */
import { getAddress } from "ethers";

import { downloadLink, h, section } from "../dom";
import { fhirAuditBundle, IndexerLagError, toFhirAuditEvents, type HistoryEvent } from "../sdk";
import type { Session } from "../session";
import { categoryWords, moment, purposeWords, shortHex } from "../words";
import { PURPOSE_DISPLAY } from "../sdk";

/** An action in the past tense, for history sentences. */
export const PAST: Record<string, string> = {
  collect: "added to",
  access: "accessed",
  use: "used",
  disclose: "shared",
  correct: "corrected",
};

/**
 * Who made a change, as the viewer reads it: "You" for the viewer's own account ("You, as guardian," when the viewer
 * acted for the patient), the patient, or a guardian named with their role ("0x15d3…6A65, your guardian,").
 */
function whoActed(
  event: { by: string; actor: "patient" | "delegate" | "relayer" },
  name: (address: string) => string,
  patient: string,
  viewer: string,
): string {
  const mine = getAddress(event.by) === getAddress(viewer);
  const forPatient = getAddress(viewer) !== getAddress(patient);
  if (event.actor === "delegate")
    return mine ? "You, as guardian," : `${name(event.by)}, ${forPatient ? "the patient's" : "your"} guardian,`;
  if (mine) return "You";
  if (event.actor === "patient") return forPatient ? "The patient" : "You";
  return name(event.by);
}

function sentence(event: HistoryEvent, name: (address: string) => string, patient: string, viewer: string): string {
  const whose = getAddress(viewer) === getAddress(patient) ? "your" : "the patient's";
  const who = (acted: { by: string; actor: "patient" | "delegate" | "relayer" }) =>
    whoActed(acted, name, patient, viewer);
  const you = (address: string) => (getAddress(address) === getAddress(viewer) ? "You" : name(address));
  switch (event.kind) {
    case "AccessRecorded":
      return `${name(event.grantee)} ${PAST[event.action]} ${whose} ${categoryWords(event.category)} for ${PURPOSE_DISPLAY[event.purpose]}`;
    case "EmergencyAccessOpened":
      return `${name(event.provider)} opened emergency access (break-glass) until ${moment(event.expiresAt)}`;
    case "EmergencyAccessClosed":
      return `${who(event)} closed ${name(event.provider)}'s emergency access`;
    case "ConsentGranted":
      return event.signed
        ? `${name(event.grantee)} got ${whose} signed consent for ${categoryWords(event.category)} (${purposeWords(event.purposeMask)}), submitted by ${who(event) === "You" ? "you" : who(event)}`
        : `${who(event)} gave ${name(event.grantee)} a consent for ${categoryWords(event.category)} (${purposeWords(event.purposeMask)})`;
    case "ConsentRevoked":
      return `${who(event)} revoked ${name(event.grantee)}'s consent for ${categoryWords(event.category)}`;
    case "ConsentDenied":
      return `${who(event)} denied ${name(event.grantee)} ${categoryWords(event.category)}`;
    case "AllConsentsRevoked":
      return `${who(event)} revoked every consent`;
    case "SignaturesCancelled":
      return `${who(event)} cancelled every unsubmitted signature`;
    case "DelegateSet":
      return `${you(event.delegate)} became ${whose} guardian`;
    case "DelegateRemoved":
      return `${you(event.delegate)} ${you(event.delegate) === "You" ? "are" : "is"} no longer ${whose} guardian`;
    case "EmergencyAccessSet":
      return `${who(event)} turned emergency access ${event.allowed ? "on" : "off"}`;
  }
}

export async function historyView(session: Session, patient: string): Promise<HTMLElement> {
  const { client, directory, deployment } = session;
  let note: string | undefined;
  let access, consent;
  try {
    [access, consent] = await Promise.all([client.accessHistory(patient), client.consentHistory(patient)]);
  } catch (error) {
    // An indexer that lags the chain is not presented as current: say so, and read the chain's logs instead.
    if (!(error instanceof IndexerLagError)) throw error;
    note = `${error.message} This history was read from the chain itself instead.`;
    [access, consent] = await Promise.all([
      client.accessHistory(patient, { source: "logs" }),
      client.consentHistory(patient, { source: "logs" }),
    ]);
  }
  const events: HistoryEvent[] = [...access, ...consent].sort(
    (a, b) => b.blockNumber - a.blockNumber || b.logIndex - a.logIndex,
  );
  const audit = fhirAuditBundle(
    toFhirAuditEvents(events, { chainId: deployment.chainId, registry: deployment.consentRegistry }),
    Math.floor(Date.now() / 1000),
  );
  const mine = getAddress(patient) === getAddress(session.account);
  return section(
    mine ? "Access history" : `Access history of ${shortHex(getAddress(patient))}`,
    h(
      "p",
      {},
      `Every access a provider recorded, every emergency window, and every change to ${mine ? "your" : "the patient's"} consents, newest first.`,
    ),
    note ? h("p", { class: "warning", role: "status" }, note) : "",
    events.length === 0
      ? h("p", {}, "Nothing yet.")
      : h(
          "ol",
          { class: "history" },
          events.map((event) =>
            h(
              "li",
              { class: event.kind === "EmergencyAccessOpened" ? "warning" : "" },
              h("time", { datetime: new Date(event.timestamp * 1000).toISOString() }, moment(event.timestamp)),
              `: ${sentence(event, (a) => directory.name(a), patient, session.account)}.`,
            ),
          ),
        ),
    downloadLink(
      "access-history.fhir.json",
      JSON.stringify(audit, null, 2),
      "Download as FHIR AuditEvent JSON",
      "application/fhir+json",
    ),
  );
}
