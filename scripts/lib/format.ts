/**
 * Human-readable lines for the command-line tasks and the demo: times, consents, history events, gas.
 * Imports nothing that needs compiled contracts, so the tasks can load it when Hardhat reads its config.
 */
import type { ContractTransactionReceipt } from "ethers";

import { ConsentStatus, Decision, actionsOf, categoryCode, purposesOf, Action, Purpose } from "../../src/codes";
import type { ConsentView, HistoryEvent } from "../../src/history";

/** Unix seconds as "2026-01-31T12:00:00Z" ("-" for 0). */
export function formatTime(seconds: number | bigint): string {
  const value = Number(seconds);
  if (value === 0) return "-";
  return new Date(value * 1000).toISOString().replace(".000Z", "Z");
}

/** "laboratory", "*" or the bytes32 id of an unknown category. */
export function formatCategory(id: string, code?: string): string {
  return code ?? categoryCode(id) ?? id;
}

/** "TREAT,CAREMGT" of a purposes mask. */
export function formatPurposes(mask: number): string {
  return purposesOf(mask)
    .map((p) => Purpose[p])
    .join(",");
}

/** "access,use" of an actions mask. */
export function formatActions(mask: number): string {
  return actionsOf(mask)
    .map((a) => Action[a].toLowerCase())
    .join(",");
}

/** One line for a consent as `consentOf` returns it. */
export function formatConsent(consent: ConsentView, status: ConsentStatus): string {
  const state = ConsentStatus[status];
  if (consent.decision === Decision.None) return `${state} (no consent stored)`;
  if (consent.decision === Decision.Deny) return `${state} (deny since ${formatTime(consent.issuedAt)})`;
  const notBefore = consent.notBefore > consent.issuedAt ? ` from ${formatTime(consent.notBefore)}` : "";
  return (
    `${state} (permit ${formatActions(consent.actions)} for ${formatPurposes(consent.purposes)}${notBefore}` +
    ` until ${formatTime(consent.expiresAt)}, issued ${formatTime(consent.issuedAt)})`
  );
}

/** "tx 0xabc..., block 12, gas 52,311" of a receipt. */
export function formatReceipt(receipt: Pick<ContractTransactionReceipt, "hash" | "blockNumber" | "gasUsed">): string {
  return `tx ${receipt.hash}, block ${receipt.blockNumber}, gas ${receipt.gasUsed.toLocaleString("en-US")}`;
}

/** One line for one history event. */
export function formatEvent(event: HistoryEvent): string {
  const when = `${formatTime(event.timestamp)} #${event.blockNumber}`;
  return `${when} ${event.kind.padEnd(21)} ${describeEvent(event)}`;
}

/** " by 0x… (delegate)": who sent a change, and in which role. */
function actedBy(event: { by: string; actor: string }): string {
  return ` by ${event.by} (${event.actor})`;
}

function describeEvent(event: HistoryEvent): string {
  switch (event.kind) {
    case "ConsentGranted": {
      const from = event.notBefore > event.timestamp ? ` from ${formatTime(event.notBefore)}` : "";
      return (
        `${event.grantee} ${formatCategory(event.category, event.categoryCode)}: ${event.actions.join(",")} for ` +
        `${event.purposes.join(",")}${from} until ${formatTime(event.expiresAt)}${actedBy(event)}` +
        `${event.signed && event.actor === "patient" ? ", signed" : ""}`
      );
    }
    case "ConsentRevoked":
      return (
        `${event.grantee} ${formatCategory(event.category, event.categoryCode)}${actedBy(event)}` +
        `${event.signed && event.actor === "patient" ? ", signed" : ""}`
      );
    case "ConsentDenied":
      return `${event.grantee} ${formatCategory(event.category, event.categoryCode)}${actedBy(event)}`;
    case "AllConsentsRevoked":
      return `every permit so far (now epoch ${event.epoch})${actedBy(event)}`;
    case "SignaturesCancelled":
      return `every unsubmitted signature (now signature epoch ${event.signatureEpoch})${actedBy(event)}`;
    case "DelegateSet":
      return `${event.delegate} until ${formatTime(event.expiresAt)}`;
    case "DelegateRemoved":
      return event.delegate;
    case "EmergencyAccessSet":
      return `${event.allowed ? "allowed" : "refused"}${actedBy(event)}`;
    case "EmergencyAccessOpened":
      return `${event.provider} until ${formatTime(event.expiresAt)} (reason hash ${event.reasonHash.slice(0, 10)}...)`;
    case "EmergencyAccessClosed":
      return `${event.provider}${actedBy(event)}`;
    case "AccessRecorded": {
      const record = /^0x0+$/.test(event.recordId) ? "" : ` record ${event.recordId}`;
      return `${event.grantee} ${event.action} ${formatCategory(event.category, event.categoryCode)} for ${event.purpose}${record}`;
    }
  }
}
