/**
 * Salted record fingerprints. A plain SHA-256 anchor lets anyone confirm a guessed low-entropy document:
 * `verify(patient, sha256(guess))`. In privacy mode the anchored hash is keyed by a random per-record salt,
 *
 *   contentHash = HMAC-SHA-256(key = salt, message = the file's bytes)
 *
 * and the salt travels with the record (beside the file, or in its FHIR DocumentReference), so a holder of the file
 * and its salt can verify, and someone holding only a guessed file cannot.
 */
import {
  computeHmac,
  decodeBase64,
  encodeBase64,
  getAddress,
  getBytes,
  hexlify,
  isHexString,
  randomBytes,
  type BytesLike,
} from "ethers";
import type { DocumentReference, Extension } from "fhir/r4";

import type { RecordRegistry } from "../../typechain-types";
import { RecordStatus } from "../codes";
import { recordId, type Content } from "../records";

/** The scheme's name, as the sidecar file writes it. */
export const SALTED_FINGERPRINT_SCHEME = "hmac-sha256";

/** The FHIR extension of a DocumentReference's attachment that carries the salt (valueBase64Binary). */
export const RECORD_SALT_EXTENSION = "https://consent-anchor.dev/fhir/StructureDefinition/record-salt";

/** A fresh 32-byte salt. */
export function newRecordSalt(): string {
  return hexlify(randomBytes(32));
}

function checkSalt(salt: BytesLike): Uint8Array {
  const bytes = typeof salt === "string" && !isHexString(salt) ? new Uint8Array() : getBytes(salt);
  if (bytes.length < 16)
    throw new Error("Invalid record salt: expected at least 16 bytes of 0x hex (use newRecordSalt)");
  return bytes;
}

function contentBytes(content: Content): Uint8Array {
  if (typeof content === "string") {
    if (!isHexString(content, true)) throw new Error("Content given as a string must be 0x-prefixed hex data");
    return getBytes(content);
  }
  return content;
}

/** `HMAC-SHA-256(salt, content)`: the content hash anchored in privacy mode. */
export function saltedContentHash(content: Content, salt: BytesLike): string {
  return hexlify(computeHmac("sha256", checkSalt(salt), contentBytes(content)));
}

/** What travels beside a private record's file: the salt, and what it gives. JSON-safe. */
export interface RecordSalt {
  kind: "consent-anchor/record-salt";
  scheme: typeof SALTED_FINGERPRINT_SCHEME;
  salt: string;
  /** The anchored hash, HMAC-SHA-256(salt, file). */
  contentHash: string;
  /** The patient account the record is anchored for, and the record's id. */
  patient: string;
  recordId: string;
}

/** A salt and its fingerprint of `content` for `patient`, ready to anchor and to travel with the file. */
export function saltRecord(content: Content, patient: string, salt: BytesLike = newRecordSalt()): RecordSalt {
  const hash = saltedContentHash(content, salt);
  return {
    kind: "consent-anchor/record-salt",
    scheme: SALTED_FINGERPRINT_SCHEME,
    salt: hexlify(checkSalt(salt)),
    contentHash: hash,
    patient: getAddress(patient),
    recordId: recordId(getAddress(patient), hash),
  };
}

/** Checks the shape of a record salt file (an object or its JSON text). */
export function parseRecordSalt(input: unknown): RecordSalt {
  const value = (typeof input === "string" ? JSON.parse(input) : input) as Partial<RecordSalt> | null;
  if (
    typeof value !== "object" ||
    value === null ||
    value.kind !== "consent-anchor/record-salt" ||
    value.scheme !== SALTED_FINGERPRINT_SCHEME ||
    typeof value.salt !== "string" ||
    !isHexString(value.contentHash, 32) ||
    !isHexString(value.recordId, 32) ||
    typeof value.patient !== "string"
  ) {
    throw new Error("Not a consent-anchor record salt file");
  }
  checkSalt(value.salt);
  return { ...(value as RecordSalt), patient: getAddress(value.patient) };
}

/** What {@link verifySaltedFile} found. */
export interface SaltedFileVerification {
  anchored: boolean;
  status: RecordStatus;
  anchoredAt: number;
  recordId: string;
  contentHash: string;
}

/** Whether the file `content`, keyed with `salt`, is anchored for `patient`. */
export async function verifySaltedFile(
  records: Pick<RecordRegistry, "verify">,
  patient: string,
  content: Content,
  salt: BytesLike,
): Promise<SaltedFileVerification> {
  const account = getAddress(patient);
  const hash = saltedContentHash(content, salt);
  const [anchored, status, anchoredAt] = await records.verify(account, hash);
  return {
    anchored,
    status: Number(status) as RecordStatus,
    anchoredAt: Number(anchoredAt),
    recordId: recordId(account, hash),
    contentHash: hash,
  };
}

/**
 * `document` with the salt in an extension of its first attachment (the one the anchor fingerprints). FHIR R4's own
 * `attachment.hash` is a SHA-1 of the data, a different thing: it is left alone (and, in privacy mode, best left out,
 * since a plain hash confirms guesses as well as a plain SHA-256 does).
 */
export function withRecordSalt(document: DocumentReference, salt: BytesLike): DocumentReference {
  const bytes = checkSalt(salt);
  const content = document.content ?? [];
  if (content.length === 0) throw new Error("The DocumentReference has no content attachment to carry the salt");
  const [first, ...rest] = content;
  const extension: Extension = { url: RECORD_SALT_EXTENSION, valueBase64Binary: encodeBase64(bytes) };
  const others = (first.attachment.extension ?? []).filter((e) => e.url !== RECORD_SALT_EXTENSION);
  return {
    ...document,
    content: [{ ...first, attachment: { ...first.attachment, extension: [...others, extension] } }, ...rest],
  };
}

/** The salt a DocumentReference carries in its first attachment, as 0x hex, or undefined. */
export function recordSaltOf(document: DocumentReference): string | undefined {
  const extension = document.content?.[0]?.attachment.extension?.find((e) => e.url === RECORD_SALT_EXTENSION);
  if (!extension?.valueBase64Binary) return undefined;
  return hexlify(decodeBase64(extension.valueBase64Binary));
}
