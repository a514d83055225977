/**
 * Private categories. In privacy mode a category id is keyed per relationship:
 *
 *   categoryId = keccak256(abi.encode(bytes32 relationshipKey, string code))
 *
 * so the same code ("mental-health") gives an unrelated id in every relationship, and no one without the key can
 * tell which category an id stands for. The relationship key is derived from the patient secret, the grantee (a
 * provider's stable id, so it survives key rotations) and the patient account the relationship uses (the main
 * address or a pseudonym: a provider that sees a patient both ways cannot match the ids). The grantee receives only
 * its own key, with which it computes the ids it checks, records accesses and anchors records against.
 *
 * `*` (ANY_CATEGORY) stays public: it reveals no category.
 */
import {
  AbiCoder,
  computeHmac,
  concat,
  getAddress,
  getBytes,
  hexlify,
  isHexString,
  keccak256,
  toUtf8Bytes,
} from "ethers";

import { ANY_CATEGORY, CATEGORY_CODES, categoryId } from "../codes";
import type { PatientSecret } from "./secret";

const abi = AbiCoder.defaultAbiCoder();

/** A relationship key: 32 bytes as 0x hex. The grantee keeps it; anyone holding it can name the ids. */
export type RelationshipKey = string;

/**
 * The key of the relationship between `account` (the patient's main address or a pseudonym) and `grantee` (a
 * provider's stable id or any address): HMAC-SHA-256 keyed by the patient secret. For the patient's own records
 * (anchored by the patient), the grantee is the account itself.
 */
export function relationshipKey(secret: PatientSecret, grantee: string, account: string): RelationshipKey {
  if (!isHexString(secret, 32)) throw new Error("Invalid patient secret: expected 32 bytes of 0x hex");
  const data = concat([
    toUtf8Bytes("consent-anchor/relationship/v1"),
    getBytes(getAddress(grantee)),
    getBytes(getAddress(account)),
  ]);
  return hexlify(computeHmac("sha256", secret, data));
}

function checkKey(key: RelationshipKey): string {
  if (typeof key !== "string" || !isHexString(key, 32)) {
    throw new Error(`Invalid relationship key "${String(key)}": expected 32 bytes of 0x hex`);
  }
  return key.toLowerCase();
}

/**
 * The private id of the category `code` in the relationship of `key`: `keccak256(abi.encode(key, code))`. The code
 * is checked as `categoryId` checks it; `*` gives ANY_CATEGORY, which is public.
 */
export function privateCategoryId(key: RelationshipKey, code: string): string {
  if (code === "*") return ANY_CATEGORY;
  categoryId(code); // refuses a malformed code with the codes module's message
  return keccak256(abi.encode(["bytes32", "string"], [checkKey(key), code]));
}

/** The code of a private id in the relationship of `key` among `codes` (default: the well-known codes), or undefined. */
export function privateCategoryCode(
  key: RelationshipKey,
  id: string,
  codes: readonly string[] = CATEGORY_CODES,
): string | undefined {
  const wanted = id.toLowerCase();
  if (wanted === ANY_CATEGORY) return "*";
  return codes.find((code) => privateCategoryId(key, code) === wanted);
}

/** Where a private id was found: its code, and the relationship (grantee and patient account). */
export interface NamedCategory {
  code: string;
  grantee: string;
  account: string;
}

/**
 * A reverse index of private ids over many relationships: the patient's views build it for every (account, grantee)
 * pair they know, then name every id an event carries.
 */
export class CategoryNames {
  private readonly byId = new Map<string, NamedCategory>();

  constructor(
    private readonly secret: PatientSecret,
    readonly codes: readonly string[] = CATEGORY_CODES,
  ) {}

  /** Adds every code of the relationship of (`grantee`, `account`). */
  add(grantee: string, account: string): void {
    const key = relationshipKey(this.secret, grantee, account);
    for (const code of this.codes) {
      this.byId.set(privateCategoryId(key, code), { code, grantee: getAddress(grantee), account: getAddress(account) });
    }
  }

  /** The name of `id`: `*`, a private id of a known relationship, a public code's id, or undefined. */
  name(id: string): string | undefined {
    const wanted = id.toLowerCase();
    if (wanted === ANY_CATEGORY) return "*";
    const found = this.byId.get(wanted)?.code;
    if (found) return found;
    return this.codes.find((code) => categoryId(code) === wanted);
  }

  /** Where `id` was found, when it is a private id of a known relationship. */
  relationshipOf(id: string): NamedCategory | undefined {
    return this.byId.get(id.toLowerCase());
  }
}

/** What a grantee receives: its own relationship key, and whose relationship it is. JSON-safe. */
export interface GranteeRelationship {
  kind: "consent-anchor/relationship";
  /** The patient account of the relationship (the main address, or the pseudonym the grantee knows). */
  patient: string;
  /** The grantee (a provider's stable id). */
  grantee: string;
  key: RelationshipKey;
  /** How ids are made: documentation for whoever reads the file. */
  scheme: "keccak256(abi.encode(bytes32 key, string code))";
  chainId: number;
  registry: string;
}

/** The relationship a grantee receives. */
export function granteeRelationship(a: {
  secret: PatientSecret;
  patient: string;
  grantee: string;
  chainId: number | bigint;
  registry: string;
}): GranteeRelationship {
  return {
    kind: "consent-anchor/relationship",
    patient: getAddress(a.patient),
    grantee: getAddress(a.grantee),
    key: relationshipKey(a.secret, a.grantee, a.patient),
    scheme: "keccak256(abi.encode(bytes32 key, string code))",
    chainId: Number(a.chainId),
    registry: getAddress(a.registry),
  };
}

/**
 * The relationship in a privacy-mode signed consent file, a consent receipt, or a relationship object (or the JSON
 * text of one of them). Throws on anything else.
 */
export function parseRelationship(input: unknown): GranteeRelationship {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch {
      throw new Error("Not a relationship: not JSON");
    }
  }
  const outer = value as { relationship?: unknown } | null;
  const r = (
    outer && typeof outer === "object" && "relationship" in outer ? outer.relationship : value
  ) as Partial<GranteeRelationship> | null;
  const bad = (field: string) => new Error(`Not a relationship: "${field}" is missing or malformed`);
  if (typeof r !== "object" || r === null || r.kind !== "consent-anchor/relationship") throw bad("kind");
  for (const field of ["patient", "grantee", "registry"] as const) {
    if (typeof r[field] !== "string") throw bad(field);
    try {
      getAddress(r[field] as string);
    } catch {
      throw bad(field);
    }
  }
  if (typeof r.key !== "string" || !isHexString(r.key, 32)) throw bad("key");
  if (typeof r.chainId !== "number" || !Number.isSafeInteger(r.chainId) || r.chainId <= 0) throw bad("chainId");
  return {
    kind: "consent-anchor/relationship",
    patient: getAddress(r.patient as string),
    grantee: getAddress(r.grantee as string),
    key: r.key.toLowerCase(),
    scheme: "keccak256(abi.encode(bytes32 key, string code))",
    chainId: r.chainId,
    registry: getAddress(r.registry as string),
  };
}
