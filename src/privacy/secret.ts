/**
 * The patient secret of privacy mode: the root of every relationship key, private category id and pairwise
 * pseudonym. It is never stored by the SDK and never sent anywhere.
 *
 * - From an ordinary wallet: derived from the wallet's signature over one fixed EIP-712 message
 *   ({@link PRIVACY_SECRET_TYPES}). ECDSA wallets sign deterministically (RFC 6979), so the same wallet gives the same
 *   secret on every device, with nothing to back up.
 * - From a wallet whose signatures are not deterministic (a smart account, some hardware or MPC wallets): a random
 *   secret created once ({@link createRandomSecret}) and kept as an encrypted backup ({@link exportSecretBackup}).
 */
import {
  Signature,
  SigningKey,
  getBytes,
  hexlify,
  isHexString,
  randomBytes,
  scrypt,
  toUtf8Bytes,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import { decrypt as eciesDecrypt, encrypt as eciesEncrypt } from "eciesjs";

import { hkdf32, toPrivateKey } from "./kdf";

/** A patient secret: 32 bytes as 0x hex. Keep it in memory only. */
export type PatientSecret = string;

/**
 * The domain of the message a wallet signs to derive the secret. It names no chain and no contract, so the secret
 * (and with it every pseudonym) is the same on every chain and deployment, and any wallet signs it on any network.
 */
export const PRIVACY_SECRET_DOMAIN: TypedDataDomain = { name: "consent-anchor privacy", version: "1" };

/** `PrivacySecret(string statement,uint256 version)` */
export const PRIVACY_SECRET_TYPES: Record<string, TypedDataField[]> = {
  PrivacySecret: [
    { name: "statement", type: "string" },
    { name: "version", type: "uint256" },
  ],
};

/** The fixed message: what the wallet shows. Changing a single character changes every derived key. */
export const PRIVACY_SECRET_MESSAGE = {
  statement:
    "Unlock my consent-anchor privacy mode. This signature derives the keys of my private consents and " +
    "pseudonyms: sign it only in an application I trust. It sends no transaction and costs nothing.",
  version: 1,
} as const;

/** Thrown when a wallet signs the fixed message differently twice: use a random secret and its backup instead. */
export class NonDeterministicWalletError extends Error {
  constructor() {
    super(
      "This wallet's signatures are not deterministic (two signatures of the same message differ, as with many " +
        "smart accounts): a secret derived from one would be lost. Create a random secret once " +
        "(createRandomSecret) and keep its encrypted backup (exportSecretBackup).",
    );
    this.name = "NonDeterministicWalletError";
  }
}

function checkSecret(secret: PatientSecret): string {
  if (typeof secret !== "string" || !isHexString(secret, 32)) {
    throw new Error("Invalid patient secret: expected 32 bytes of 0x hex");
  }
  return secret.toLowerCase();
}

/** The secret as checked 0x hex (throws on anything else). */
export function parsePatientSecret(secret: string): PatientSecret {
  return checkSecret(secret);
}

/** The secret derived from a signature of {@link PRIVACY_SECRET_MESSAGE} (any `v` encoding). */
export function secretFromSignature(signature: string): PatientSecret {
  let normalised: string;
  try {
    // r || s || v with v normalised: wallets that write v as 0/1 or 27/28 give the same secret.
    normalised = Signature.from(signature).serialized;
  } catch {
    // A contract wallet's signature (ERC-1271) of any length: used as it is.
    normalised = hexlify(getBytes(signature));
  }
  return hkdf32(normalised, "consent-anchor/privacy/v1", "patient-secret");
}

/** Asks the wallet to sign the fixed message once. */
export function signSecretMessage(signer: Pick<Signer, "signTypedData">): Promise<string> {
  return signer.signTypedData(PRIVACY_SECRET_DOMAIN, PRIVACY_SECRET_TYPES, { ...PRIVACY_SECRET_MESSAGE });
}

/** Whether the wallet signs the fixed message the same way twice (it is asked to sign it twice). */
export async function hasDeterministicSignatures(signer: Pick<Signer, "signTypedData">): Promise<boolean> {
  const first = await signSecretMessage(signer);
  const second = await signSecretMessage(signer);
  return secretFromSignature(first) === secretFromSignature(second);
}

/**
 * The patient secret of a wallet: its signature of the fixed message, signed twice to check that the wallet signs
 * deterministically (else {@link NonDeterministicWalletError}: use {@link createRandomSecret}).
 */
export async function derivePatientSecret(signer: Pick<Signer, "signTypedData">): Promise<PatientSecret> {
  const first = secretFromSignature(await signSecretMessage(signer));
  const second = secretFromSignature(await signSecretMessage(signer));
  if (first !== second) throw new NonDeterministicWalletError();
  return first;
}

/** A fresh random secret, for a wallet whose signatures are not deterministic. Back it up at once. */
export function createRandomSecret(): PatientSecret {
  return hexlify(randomBytes(32));
}

/** An encrypted backup of a patient secret: JSON-safe, for a file or the browser's storage. */
export interface SecretBackup {
  kind: "consent-anchor/privacy-secret-backup";
  version: 1;
  /** scrypt parameters that turn the passphrase into the decryption key. */
  kdf: { name: "scrypt"; salt: string; N: number; r: number; p: number };
  /** ECIES over secp256k1 with AES-256-GCM (eciesjs), to the key derived from the passphrase. */
  cipher: "ecies-secp256k1-aes-256-gcm";
  ciphertext: string;
}

/** scrypt cost of new backups: 2^17, r 8, p 1 (about a second). Tests may pass a lower N. */
export const BACKUP_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;

async function backupKey(passphrase: string, kdf: SecretBackup["kdf"]): Promise<string> {
  if (typeof passphrase !== "string" || passphrase.length < 8) {
    throw new Error("The backup passphrase must have at least 8 characters");
  }
  const material = await scrypt(toUtf8Bytes(passphrase.normalize("NFKC")), kdf.salt, kdf.N, kdf.r, kdf.p, 32);
  return toPrivateKey(material);
}

/** Encrypts `secret` under `passphrase` (scrypt, then ECIES with AES-256-GCM). */
export async function exportSecretBackup(
  secret: PatientSecret,
  passphrase: string,
  cost: { N?: number; r?: number; p?: number } = {},
): Promise<SecretBackup> {
  const kdf = {
    name: "scrypt" as const,
    salt: hexlify(randomBytes(16)),
    N: cost.N ?? BACKUP_SCRYPT.N,
    r: cost.r ?? BACKUP_SCRYPT.r,
    p: cost.p ?? BACKUP_SCRYPT.p,
  };
  const key = await backupKey(passphrase, kdf);
  const publicKey = getBytes(SigningKey.computePublicKey(key, false));
  const ciphertext = hexlify(eciesEncrypt(publicKey, getBytes(checkSecret(secret))));
  return {
    kind: "consent-anchor/privacy-secret-backup",
    version: 1,
    kdf,
    cipher: "ecies-secp256k1-aes-256-gcm",
    ciphertext,
  };
}

/** Checks the shape of a backup (an object or its JSON text). */
export function parseSecretBackup(input: unknown): SecretBackup {
  const value = typeof input === "string" ? (JSON.parse(input) as unknown) : input;
  const b = value as Partial<SecretBackup> | null;
  const kdf = b?.kdf;
  const ok =
    typeof b === "object" &&
    b !== null &&
    b.kind === "consent-anchor/privacy-secret-backup" &&
    b.version === 1 &&
    b.cipher === "ecies-secp256k1-aes-256-gcm" &&
    typeof b.ciphertext === "string" &&
    isHexString(b.ciphertext) &&
    kdf?.name === "scrypt" &&
    typeof kdf.salt === "string" &&
    isHexString(kdf.salt) &&
    [kdf.N, kdf.r, kdf.p].every((n) => Number.isSafeInteger(n) && (n as number) > 0) &&
    // Powers of two up to 2^20: a larger cost would hang the browser that opens the file.
    (kdf.N as number) <= 2 ** 20 &&
    ((kdf.N as number) & ((kdf.N as number) - 1)) === 0 &&
    (kdf.r as number) * (kdf.p as number) <= 64;
  if (!ok) throw new Error("Not a consent-anchor privacy secret backup (or its parameters are out of range)");
  return b as SecretBackup;
}

/** Decrypts a backup with its passphrase; a wrong passphrase or an altered file is refused. */
export async function restoreSecretBackup(backup: SecretBackup | string, passphrase: string): Promise<PatientSecret> {
  const b = parseSecretBackup(backup);
  const key = await backupKey(passphrase, b.kdf);
  let plain: Uint8Array;
  try {
    plain = eciesDecrypt(getBytes(key), getBytes(b.ciphertext));
  } catch {
    throw new Error("Cannot decrypt the secret backup: wrong passphrase, or the file was altered");
  }
  if (plain.length !== 32) throw new Error("The secret backup holds no 32-byte secret");
  return hexlify(plain);
}
