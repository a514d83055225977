/**
 * Why a grantee may, or may not, act on a patient's data now: the answer of `isAuthorized` with the reason a person
 * needs (a consent, an open break-glass window, a deny, a suspended provider, an expired or revoked consent).
 */
import { ANY_CATEGORY, Action, ConsentStatus, Decision, ProviderStatus, Purpose } from "../../src/codes";
import type { ConsentClient, ConsentOf } from "../../src/client";

export type AccessReason =
  | "consent"
  | "break-glass"
  | "denied"
  | "suspended-provider"
  | "expired"
  | "revoked"
  | "not-yet-in-force"
  | "not-covered"
  | "no-consent";

export interface AccessAnswer {
  authorised: boolean;
  reason: AccessReason;
  /** One sentence saying why. */
  explanation: string;
  /** The grantee's provider id (the grantee itself when it is no provider): where consents are kept. */
  key: string;
  /** The consent stored for exactly this category, and the one for every category ("*"). */
  consent: ConsentOf;
  anyCategory: ConsentOf;
  /** The end of an open break-glass window of the grantee, if any (unix seconds). */
  breakGlassUntil?: number;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** The answer for (patient, grantee, data category, purpose, action) now. */
export async function explainAccess(
  client: ConsentClient,
  q: { patient: string; grantee: string; category: string; purpose: Purpose; action: Action; now: number },
): Promise<AccessAnswer> {
  const [authorised, provider] = await Promise.all([
    client.isAuthorized(q.patient, q.grantee, q.category, q.purpose, q.action),
    client.providerStatus(q.grantee),
  ]);
  const registered = provider.status !== ProviderStatus.None;
  const key = registered ? provider.id : q.grantee;
  const [consent, anyCategory, windowEnd] = await Promise.all([
    client.consentOf(q.patient, key, q.category),
    client.consentOf(q.patient, key, ANY_CATEGORY),
    registered ? client.consents.emergencyAccessExpiry(q.patient, key) : Promise.resolve(0n),
  ]);
  const breakGlassUntil = Number(windowEnd) > q.now ? Number(windowEnd) : undefined;
  const base = { authorised, key, consent, anyCategory, breakGlassUntil };
  const covers = (c: ConsentOf) =>
    c.status === ConsentStatus.Active &&
    c.consent.decision === Decision.Permit &&
    (c.consent.purposes & (1 << q.purpose)) !== 0 &&
    (c.consent.actions & (1 << q.action)) !== 0;

  if (authorised) {
    if (covers(consent) || covers(anyCategory)) {
      const scope = covers(consent) ? "this category" : `every category ("*")`;
      const until = covers(consent) ? consent.consent.expiresAt : anyCategory.consent.expiresAt;
      return { ...base, reason: "consent", explanation: `a consent for ${scope} until ${iso(until)}` };
    }
    if (breakGlassUntil !== undefined) {
      return { ...base, reason: "break-glass", explanation: `a break-glass window until ${iso(breakGlassUntil)}` };
    }
    return { ...base, reason: "consent", explanation: "a consent kept under one of the provider's keys" };
  }
  const both = [consent, anyCategory];
  if (both.some((c) => c.status === ConsentStatus.Denied)) {
    const scope = consent.status === ConsentStatus.Denied ? "this category" : `every category ("*")`;
    return { ...base, reason: "denied", explanation: `the patient denied this grantee ${scope}` };
  }
  if (registered && provider.status !== ProviderStatus.Active) {
    const state = ProviderStatus[provider.status].toLowerCase();
    return {
      ...base,
      reason: "suspended-provider",
      explanation: `the provider is ${state}: its consents authorise nothing until it is reinstated`,
    };
  }
  const first = (status: ConsentStatus) => both.find((c) => c.status === status);
  const expired = first(ConsentStatus.Expired);
  if (expired)
    return { ...base, reason: "expired", explanation: `the consent expired at ${iso(expired.consent.expiresAt)}` };
  if (first(ConsentStatus.Revoked)) return { ...base, reason: "revoked", explanation: "the consent was revoked" };
  const pending = first(ConsentStatus.Pending);
  if (pending) {
    return {
      ...base,
      reason: "not-yet-in-force",
      explanation: `the consent is in force from ${iso(pending.consent.notBefore)}`,
    };
  }
  if (first(ConsentStatus.Active)) {
    return {
      ...base,
      reason: "not-covered",
      explanation: `the consent does not cover ${Purpose[q.purpose]} and ${Action[q.action].toLowerCase()}`,
    };
  }
  return { ...base, reason: "no-consent", explanation: "there is no consent for this grantee and category" };
}
