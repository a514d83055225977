/**
 * Reading consents in tests: the stored consent of a key and its status, as plain numbers for deep equality.
 */
import type { ConsentRegistry } from "../../typechain-types";
import type { ConsentStatus, Decision } from "../../src/codes";

/** The consent stored for a key and its status, as plain numbers. */
export async function consentView(consents: ConsentRegistry, patient: string, grantee: string, category: string) {
  const [consent, status] = await consents.consentOf(patient, grantee, category);
  return {
    purposes: Number(consent.purposes),
    actions: Number(consent.actions),
    notBefore: Number(consent.notBefore),
    expiresAt: Number(consent.expiresAt),
    issuedAt: Number(consent.issuedAt),
    epoch: Number(consent.epoch),
    decision: Number(consent.decision) as Decision,
    sequence: Number(consent.sequence),
    status: Number(status) as ConsentStatus,
  };
}

/** The status of the consent stored for a key. */
export async function statusOf(consents: ConsentRegistry, patient: string, grantee: string, category: string) {
  return (await consentView(consents, patient, grantee, category)).status;
}
