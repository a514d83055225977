/**
 * Pairwise pseudonyms, in the spirit of OpenID Connect's pairwise subject identifiers: the patient appears to each
 * provider under a different account, whose key is derived from the patient secret and the provider's stable id.
 * Keys are derived on demand and held in memory only; nothing is stored and nothing links them on-chain, as long as
 * the pseudonym never sends a transaction itself (its consents are signed, and submitted by the clinic or a relayer)
 * and the main account never sends one that names a pseudonym.
 */
import { Wallet, getAddress, type Provider } from "ethers";

import { hkdf32, toPrivateKey } from "./kdf";
import type { PatientSecret } from "./secret";

/** The private key of the patient's pseudonym towards the provider `providerId` (its stable id). */
export function pseudonymPrivateKey(secret: PatientSecret, providerId: string): string {
  return toPrivateKey(hkdf32(secret, "consent-anchor/pseudonym/v1", getAddress(providerId).toLowerCase()));
}

/** The pseudonym's wallet (connected to `provider` when given). It signs only; it never needs gas. */
export function pseudonymWallet(secret: PatientSecret, providerId: string, provider?: Provider | null): Wallet {
  return new Wallet(pseudonymPrivateKey(secret, providerId), provider ?? null);
}

/** The pseudonym's address towards `providerId`. */
export function pseudonymAddress(secret: PatientSecret, providerId: string): string {
  return pseudonymWallet(secret, providerId).address;
}
