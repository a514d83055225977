/**
 * The human terms of a signed grant or revocation: written by consent:sign beside the signed data, shown by
 * consent:submit before it sends. The terms are derived from the signed data; a file whose terms or data were
 * edited is refused before anything is sent.
 */
import { TypedDataEncoder, ZeroAddress, getAddress, recoverAddress } from "ethers";

import { Action, Purpose, actionsOf, categoryCode, purposesOf } from "../../src/codes";
import { REVOKE_TYPES, consentDomain, recoverGrantSigner } from "../../src/eip712";
import type { SignedGrant, SignedRevoke } from "../../src/client";
import { UserError } from "../../scripts/lib/errors";

/** What a person reads in a signed file. Times are ISO 8601 in UTC. */
export interface SignedTerms {
  kind: "grant" | "revocation";
  patient: string;
  grantee: string;
  /** The category code ("laboratory", "*"), or the bytes32 id of a category without a well-known code. */
  category: string;
  purposes?: string[];
  actions?: string[];
  /** When the consent starts: a time, or "when submitted". */
  from?: string;
  until?: string;
  /** The signature can be submitted until then. */
  submitBefore: string;
}

const SIGNATURE_MISMATCH = "the signature does not match these terms (edited or corrupted)";

function iso(seconds: number | string): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}

/** The terms of a signed grant. */
export function grantTerms(signed: SignedGrant, categoryLabel?: string): SignedTerms {
  const r = signed.request;
  return {
    kind: "grant",
    patient: r.patient,
    grantee: r.grantee,
    category: categoryLabel ?? categoryCode(r.category) ?? r.category,
    purposes: purposesOf(r.purposes).map((p) => Purpose[p]),
    actions: actionsOf(r.actions).map((a) => Action[a].toLowerCase()),
    from: r.notBefore === 0 ? "when submitted" : iso(r.notBefore),
    until: iso(r.expiresAt),
    submitBefore: iso(signed.deadline),
  };
}

/** The terms of a signed revocation. */
export function revokeTerms(signed: SignedRevoke, categoryLabel?: string): SignedTerms {
  const r = signed.request;
  return {
    kind: "revocation",
    patient: r.patient,
    grantee: r.grantee,
    category: categoryLabel ?? categoryCode(r.category) ?? r.category,
    submitBefore: iso(signed.deadline),
  };
}

/** The terms as lines for a person. */
export function termsLines(terms: SignedTerms): string[] {
  if (terms.kind === "revocation") {
    return [
      `  patient        ${terms.patient}`,
      `  withdraws the permit of ${terms.grantee} for ${terms.category}`,
      `  submit before  ${terms.submitBefore}`,
    ];
  }
  return [
    `  patient        ${terms.patient}`,
    `  grantee        ${terms.grantee}`,
    `  category       ${terms.category}`,
    `  purposes       ${(terms.purposes ?? []).join(", ")}`,
    `  actions        ${(terms.actions ?? []).join(", ")}`,
    `  period         from ${terms.from} until ${terms.until}`,
    `  submit before  ${terms.submitBefore}`,
  ];
}

/** The address an ECDSA signature of the file's data recovers to (the zero address for a malformed one). */
export function recoveredSigner(signed: SignedGrant | SignedRevoke, kind: SignedTerms["kind"]): string {
  const domain = consentDomain(signed.chainId, signed.registry);
  try {
    if (kind === "grant") {
      const grant = signed as SignedGrant;
      return getAddress(
        recoverGrantSigner(domain, grant.request, BigInt(grant.nonce), BigInt(grant.deadline), grant.signature),
      );
    }
    const digest = TypedDataEncoder.hash(domain, REVOKE_TYPES, {
      ...signed.request,
      nonce: BigInt(signed.nonce),
      deadline: BigInt(signed.deadline),
    });
    return getAddress(recoverAddress(digest, signed.signature));
  } catch {
    return ZeroAddress;
  }
}

/**
 * Refuses a file whose signature is not the patient's over exactly these data (checked for an ordinary wallet; a
 * contract wallet's signature is checked on-chain), or whose written terms differ from the signed data.
 */
export function checkSignedFile(
  signed: SignedGrant | SignedRevoke,
  terms: SignedTerms,
  writtenTerms: unknown,
  patientIsContract: boolean,
): void {
  if (!patientIsContract && recoveredSigner(signed, terms.kind) !== getAddress(signed.request.patient)) {
    throw new UserError(`This signed ${terms.kind}: ${SIGNATURE_MISMATCH}`);
  }
  if (writtenTerms === undefined) return;
  const written = writtenTerms as Partial<SignedTerms> | null;
  const same =
    typeof written === "object" &&
    written !== null &&
    (Object.keys(terms) as (keyof SignedTerms)[]).every(
      (key) => JSON.stringify(written[key]) === JSON.stringify(terms[key]),
    );
  if (!same) {
    throw new UserError(
      `This signed ${terms.kind}: the terms written in the file are not the signed ones (edited or corrupted); ` +
        `the signed data say ${JSON.stringify(terms)}`,
    );
  }
}
