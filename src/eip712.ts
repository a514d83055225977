/**
 * EIP-712 typed data of the consent registry: what a patient's wallet shows and signs for a grant or a
 * revocation submitted by someone else (a clinic, a relayer).
 *
 * Nonces are per consent key (patient, grantee, category), not per patient: `signatureNonce(patient, grantee,
 * category)` on-chain is the patient's signature epoch in the high 128 bits and the key's decision count in the low
 * 128 bits. Signatures for different keys are independent; for one key they land in order.
 */
import {
  TypedDataEncoder,
  Wallet,
  recoverAddress,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

/** The registry's EIP-712 domain name and version (also discoverable on-chain through ERC-5267 `eip712Domain()`). */
export const DOMAIN_NAME = "ConsentRegistry";
export const DOMAIN_VERSION = "1";

/** `Grant(address patient,address grantee,bytes32 category,uint32 purposes,uint8 actions,uint40 notBefore,uint40 expiresAt,uint256 nonce,uint256 deadline)` */
export const GRANT_TYPES: Record<string, TypedDataField[]> = {
  Grant: [
    { name: "patient", type: "address" },
    { name: "grantee", type: "address" },
    { name: "category", type: "bytes32" },
    { name: "purposes", type: "uint32" },
    { name: "actions", type: "uint8" },
    { name: "notBefore", type: "uint40" },
    { name: "expiresAt", type: "uint40" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** `Revoke(address patient,address grantee,bytes32 category,uint256 nonce,uint256 deadline)` */
export const REVOKE_TYPES: Record<string, TypedDataField[]> = {
  Revoke: [
    { name: "patient", type: "address" },
    { name: "grantee", type: "address" },
    { name: "category", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** A grant as the contract's `GrantRequest` struct. */
export interface GrantRequest {
  patient: string;
  grantee: string;
  category: string;
  purposes: number;
  actions: number;
  notBefore: bigint | number;
  expiresAt: bigint | number;
}

/** A revocation as signed. */
export interface RevokeRequest {
  patient: string;
  grantee: string;
  category: string;
}

/** The two halves of a signature nonce. */
export interface SignatureNonceParts {
  /** The patient's signature epoch: moved on by `cancelSignatures` and `revokeAll`. */
  signatureEpoch: bigint;
  /** How many decisions were made on the key: every grant, deny or revocation of it moves it on. */
  sequence: bigint;
}

const HALF = 128n;
const HALF_MASK = (1n << HALF) - 1n;

/** Splits a signature nonce into the patient's signature epoch and the key's sequence. */
export function splitSignatureNonce(nonce: bigint | number | string): SignatureNonceParts {
  const value = BigInt(nonce);
  if (value < 0n || value >> (2n * HALF) !== 0n) throw new Error(`Invalid signature nonce ${value}: not a uint256`);
  return { signatureEpoch: value >> HALF, sequence: value & HALF_MASK };
}

/** The signature nonce of a signature epoch and a key's sequence: `(signatureEpoch << 128) | sequence`. */
export function joinSignatureNonce(parts: SignatureNonceParts): bigint {
  const { signatureEpoch, sequence } = parts;
  if (signatureEpoch < 0n || signatureEpoch > HALF_MASK || sequence < 0n || sequence > HALF_MASK) {
    throw new Error(`Invalid signature nonce parts: epoch ${signatureEpoch}, sequence ${sequence}`);
  }
  return (signatureEpoch << HALF) | sequence;
}

/** The registry's domain on a chain. */
export function consentDomain(chainId: bigint | number, verifyingContract: string): TypedDataDomain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId, verifyingContract };
}

/** Something that can sign typed data: an ethers Signer (a wallet, a browser wallet) or a raw private key. */
export type TypedDataSigner = Pick<Signer, "signTypedData"> | string;

function asSigner(signer: TypedDataSigner): Pick<Signer, "signTypedData"> {
  return typeof signer === "string" ? new Wallet(signer) : signer;
}

/** Signs a grant for `grantWithSig`. */
export async function signGrant(
  signer: TypedDataSigner,
  domain: TypedDataDomain,
  request: GrantRequest,
  nonce: bigint | number,
  deadline: bigint | number,
): Promise<string> {
  return asSigner(signer).signTypedData(domain, GRANT_TYPES, { ...request, nonce, deadline });
}

/** Signs a revocation for `revokeWithSig`. */
export async function signRevoke(
  signer: TypedDataSigner,
  domain: TypedDataDomain,
  request: RevokeRequest,
  nonce: bigint | number,
  deadline: bigint | number,
): Promise<string> {
  return asSigner(signer).signTypedData(domain, REVOKE_TYPES, { ...request, nonce, deadline });
}

/** The EIP-712 digest of a grant, as the contract computes it. */
export function grantDigest(
  domain: TypedDataDomain,
  request: GrantRequest,
  nonce: bigint | number,
  deadline: bigint | number,
): string {
  return TypedDataEncoder.hash(domain, GRANT_TYPES, { ...request, nonce, deadline });
}

/** The address that signed a grant with an ECDSA signature (for checks before submitting). */
export function recoverGrantSigner(
  domain: TypedDataDomain,
  request: GrantRequest,
  nonce: bigint | number,
  deadline: bigint | number,
  signature: string,
): string {
  return recoverAddress(grantDigest(domain, request, nonce, deadline), signature);
}
