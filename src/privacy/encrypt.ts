/**
 * A URI is public: the `uri` of `RecordAnchored` and `BatchAnchored` is emitted in a log that anyone reads, and a
 * file on IPFS is fetched by anyone who knows its CID. {@link encryptForGrantee} encrypts a file to its recipient
 * before it is published (ECIES over secp256k1 with AES-256-GCM, from eciesjs on the audited @noble libraries), so
 * that a public CID reveals nothing: not the file, and not its plain SHA-256 (a fresh ephemeral key makes every
 * ciphertext different, even of the same file).
 */
import { SigningKey, getBytes, hexlify, type BytesLike } from "ethers";
import { decrypt, encrypt } from "eciesjs";

/**
 * The public key to encrypt to, from a private key (any account key: a clinic's encryption key, or a wallet's),
 * compressed, as 0x hex. Publish it off-chain (the provider's metadata, a QR code).
 */
export function encryptionPublicKey(privateKey: BytesLike): string {
  return SigningKey.computePublicKey(privateKey, true);
}

function publicKeyBytes(publicKey: BytesLike): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = getBytes(SigningKey.computePublicKey(publicKey, true));
  } catch {
    throw new Error("Invalid recipient public key: expected a secp256k1 public key (33 or 65 bytes of 0x hex)");
  }
  return bytes;
}

/** Encrypts `data` to the holder of `recipientPublicKey`: `ephemeral public key || nonce || tag || ciphertext`. */
export function encryptForGrantee(recipientPublicKey: BytesLike, data: Uint8Array): Uint8Array {
  return encrypt(publicKeyBytes(recipientPublicKey), data);
}

/** Decrypts what {@link encryptForGrantee} made, with the recipient's private key; refuses altered data. */
export function decryptForGrantee(privateKey: BytesLike, ciphertext: Uint8Array): Uint8Array {
  try {
    return decrypt(getBytes(privateKey), ciphertext);
  } catch {
    throw new Error("Cannot decrypt: not encrypted to this key, or altered");
  }
}

/** Hex of the ciphertext, for a JSON transport. */
export function ciphertextHex(ciphertext: Uint8Array): string {
  return hexlify(ciphertext);
}

/**
 * The public key of whoever signed a grant (an ordinary wallet's ECDSA signature): a clinic holding a patient's
 * signed consent encrypts records to the patient (or the pseudonym) with it, without any other exchange.
 */
export function signerPublicKey(digest: BytesLike, signature: string): string {
  return SigningKey.recoverPublicKey(digest, signature);
}
