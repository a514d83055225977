/** Access history: who accessed what, when and why (break-glass included), and consent changes; FHIR download. */
import { downloadLink, h, section } from "../dom";
import { fhirAuditBundle, toFhirAuditEvents, type HistoryEvent } from "../sdk";
import type { Session } from "../session";
import { categoryWords, moment, purposeWords } from "../words";
import { PURPOSE_DISPLAY } from "../sdk";

const PAST: Record<string, string> = {
  collect: "added to",
  access: "accessed",
  use: "used",
  disclose: "shared",
  correct: "corrected",
};

function sentence(event: HistoryEvent, name: (address: string) => string, patient: string): string {
  const who = (address: string) => (address === patient ? "You" : name(address));
  switch (event.kind) {
    case "AccessRecorded":
      return `${name(event.grantee)} ${PAST[event.action]} your ${categoryWords(event.category)} for ${PURPOSE_DISPLAY[event.purpose]}`;
    case "EmergencyAccessOpened":
      return `${name(event.provider)} opened emergency access (break-glass) until ${moment(event.expiresAt)}`;
    case "EmergencyAccessClosed":
      return `${who(event.by)} closed ${name(event.provider)}'s emergency access`;
    case "ConsentGranted":
      return event.signed
        ? `${name(event.grantee)} got your signed consent for ${categoryWords(event.category)} (${purposeWords(event.purposeMask)}), submitted by ${who(event.by) === "You" ? "you" : who(event.by)}`
        : `${who(event.by)} gave ${name(event.grantee)} a consent for ${categoryWords(event.category)} (${purposeWords(event.purposeMask)})`;
    case "ConsentRevoked":
      return `${who(event.by)} revoked ${name(event.grantee)}'s consent for ${categoryWords(event.category)}`;
    case "ConsentDenied":
      return `${who(event.by)} denied ${name(event.grantee)} ${categoryWords(event.category)}`;
    case "AllConsentsRevoked":
      return `${who(event.by)} revoked every consent`;
    case "SignaturesCancelled":
      return `${who(event.by)} cancelled every unsubmitted signature`;
    case "DelegateSet":
      return `${name(event.delegate)} became your guardian`;
    case "DelegateRemoved":
      return `${name(event.delegate)} is no longer your guardian`;
    case "EmergencyAccessSet":
      return `${who(event.by)} turned emergency access ${event.allowed ? "on" : "off"}`;
  }
}

export async function historyView(session: Session, patient: string): Promise<HTMLElement> {
  const { client, directory, deployment } = session;
  const [access, consent] = await Promise.all([client.accessHistory(patient), client.consentHistory(patient)]);
  const events: HistoryEvent[] = [...access, ...consent].sort(
    (a, b) => b.blockNumber - a.blockNumber || b.logIndex - a.logIndex,
  );
  const audit = fhirAuditBundle(
    toFhirAuditEvents(events, { chainId: deployment.chainId, registry: deployment.consentRegistry }),
    Math.floor(Date.now() / 1000),
  );
  return section(
    "Access history",
    h(
      "p",
      {},
      "Every access a provider recorded, every emergency window, and every change to your consents, newest first.",
    ),
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
              `: ${sentence(event, (a) => directory.name(a), patient)}.`,
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
