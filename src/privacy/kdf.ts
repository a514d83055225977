/**
 * HKDF-SHA-256 (RFC 5869) on ethers' HMAC, so the privacy module runs the same in Node and in a browser.
 */
import { computeHmac, concat, getBytes, hexlify, toUtf8Bytes, type BytesLike } from "ethers";

/** HKDF-SHA-256 of `ikm` with `salt` and `info`, 32 bytes, as 0x hex. */
export function hkdf32(ikm: BytesLike, salt: string, info: BytesLike | string): string {
  const infoBytes = typeof info === "string" && !info.startsWith("0x") ? toUtf8Bytes(info) : getBytes(info);
  const prk = computeHmac("sha256", toUtf8Bytes(salt), getBytes(ikm));
  return hexlify(computeHmac("sha256", prk, concat([infoBytes, new Uint8Array([1])])));
}

/** The secp256k1 group order. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A valid secp256k1 private key (1 to n - 1) from 32 bytes of key material. */
export function toPrivateKey(material: BytesLike): string {
  const value = (BigInt(hexlify(material)) % (SECP256K1_N - 1n)) + 1n;
  return `0x${value.toString(16).padStart(64, "0")}`;
}
