/**
 * FHIR References to accounts, and back.
 *
 * An EHR names people by reference (`Patient/f001`, `#org1` for a contained resource, or a logical reference by
 * identifier such as an NPI). Importing a Consent maps each reference to an account with, in order:
 * 1. the caller's `resolve(reference, { path, role })`, when it returns an address;
 * 2. an eip155 account identifier on the reference (CAIP-10 `eip155:<chainId>:<address>`, or an eip-55 address);
 * 3. for a contained reference (`#id`), the same two steps on each identifier of the contained resource.
 * A reference none of them resolves throws, naming the FHIR path and the reference.
 *
 * {@link providerIdentifierResolver} builds a `resolve` from the ProviderRegistry: a provider registered with the
 * hash of an identifier (for example `npi:1234567893`) is found from a reference carrying that identifier.
 */
import type { FhirResource, Identifier, Reference } from "fhir/r4";
import { Interface, getAddress, id, isAddress, type ContractRunner } from "ethers";

import { getLogsPaged } from "../history";
import { fhirError, isAccountIdentifier, parseAccount } from "./common";

/** What a reference stands for in a Consent: the patient, or a provision actor. */
export interface ResolveContext {
  /** The FHIR path of the reference ("Consent.provision.actor[0].reference"). */
  path: string;
  role: "patient" | "actor";
}

/** Maps a FHIR Reference to an account address, or undefined when it does not know it. */
export type FhirReferenceResolver = (reference: Reference, context: ResolveContext) => string | undefined;

/** The role of an account in an audit trail, for {@link FhirAccountResolver}. */
export type AuditRole = "patient" | "grantee" | "delegate" | "relayer" | "provider";

/** Maps an account back to the FHIR Reference an EHR knows it by, or undefined to name it by its account. */
export type FhirAccountResolver = (address: string, context: { role: AuditRole }) => Reference | undefined;

/** The first answer of several resolvers. */
export function combineResolvers(...resolvers: (FhirReferenceResolver | undefined)[]): FhirReferenceResolver {
  return (reference, context) => {
    for (const resolve of resolvers) {
      const address = resolve?.(reference, context);
      if (address !== undefined) return address;
    }
    return undefined;
  };
}

/** A reference as text, for error messages. */
export function referenceText(reference: Reference): string {
  const parts: string[] = [];
  if (reference.reference !== undefined) parts.push(reference.reference);
  if (reference.identifier !== undefined) {
    parts.push(`identifier ${reference.identifier.system ?? ""}|${reference.identifier.value ?? ""}`);
  }
  if (reference.display !== undefined) parts.push(`"${reference.display}"`);
  return parts.join(" ") || "(empty reference)";
}

interface ResolveOptions {
  resolve?: FhirReferenceResolver;
  chainId?: number | bigint;
  /** The resources contained in the Consent, for `#id` references. */
  contained?: readonly FhirResource[];
}

function fromResolver(reference: Reference, context: ResolveContext, options: ResolveOptions): string | undefined {
  const address = options.resolve?.(reference, context);
  if (address === undefined) return undefined;
  if (!isAddress(address)) {
    throw fhirError(context.path, `resolve returned "${address}" for ${referenceText(reference)}: not an address`);
  }
  return getAddress(address);
}

function fromIdentifier(identifier: Identifier | undefined, path: string, options: ResolveOptions) {
  return isAccountIdentifier(identifier) ? parseAccount(identifier, path, options.chainId) : undefined;
}

/** The account a reference stands for; throws naming the path and the reference when nothing resolves it. */
export function resolveReference(
  reference: Reference | undefined,
  context: ResolveContext,
  options: ResolveOptions,
): string {
  if (!reference) throw fhirError(context.path, "missing: name the party with a reference");
  const direct =
    fromResolver(reference, context, options) ??
    fromIdentifier(reference.identifier, `${context.path}.identifier`, options);
  if (direct !== undefined) return direct;
  const local = reference.reference?.startsWith("#") ? reference.reference.slice(1) : undefined;
  if (local !== undefined) {
    const contained = (options.contained ?? []).find((resource) => resource.id === local);
    if (!contained) throw fhirError(context.path, `${reference.reference} names no contained resource`);
    const identifiers = "identifier" in contained && Array.isArray(contained.identifier) ? contained.identifier : [];
    for (const identifier of identifiers as Identifier[]) {
      const found = fromResolver({ identifier }, context, options) ?? fromIdentifier(identifier, context.path, options);
      if (found !== undefined) return found;
    }
  }
  throw fhirError(
    context.path,
    `cannot resolve ${referenceText(reference)} to an account: pass a resolve function to fromFhirConsent, ` +
      `or identify the ${context.role} with an eip155 account identifier`,
  );
}

/** NPI, the US National Provider Identifier system. */
export const NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi";

/**
 * The text whose hash a provider is registered with, for an identifier: `npi:<value>` for an NPI (as
 * `provider:register --identifier npi:...` writes it), else `<system>|<value>`.
 */
export function defaultIdentifierKey(identifier: Identifier): string | undefined {
  if (identifier.value === undefined) return undefined;
  if (identifier.system === NPI_SYSTEM) return `npi:${identifier.value}`;
  return identifier.system === undefined ? undefined : `${identifier.system}|${identifier.value}`;
}

export interface ProviderIdentifierOptions {
  /** The text a provider's identifier hash is made from (default {@link defaultIdentifierKey}). */
  identifierKey?: (identifier: Identifier) => string | undefined;
  /** The hash the registrar applied (default keccak256 of the UTF-8 text, as the SDK's `registerProvider` does). */
  hash?: (key: string) => string;
  fromBlock?: number;
  toBlock?: number;
  step?: number;
}

/** The provider registry, or any contract object at its address with a runner that has a provider. */
export interface ProviderRegistryLike {
  getAddress(): Promise<string>;
  readonly runner: ContractRunner | null;
}

const REGISTERED = new Interface([
  "event ProviderRegistered(address indexed provider, bytes32 identifierHash, uint8 capabilities, string metadataURI, address registrar)",
]);

/**
 * A resolver that finds providers by the identifier they were registered with (an NPI, for example): it reads the
 * registry's `ProviderRegistered` events once, and answers with the provider's stable id, under which consents
 * follow it through key rotations. References without a known identifier get undefined, for the next resolver.
 */
export async function providerIdentifierResolver(
  registry: ProviderRegistryLike,
  options: ProviderIdentifierOptions = {},
): Promise<FhirReferenceResolver> {
  const provider = registry.runner?.provider;
  if (!provider)
    throw new Error("Reading the provider registry needs a provider: connect it with a signer or provider");
  const toBlock = options.toBlock ?? (await provider.getBlockNumber());
  const event = REGISTERED.getEvent("ProviderRegistered");
  if (!event) throw new Error("ProviderRegistered event fragment missing");
  const logs = await getLogsPaged(
    provider,
    { address: await registry.getAddress(), topics: [event.topicHash] },
    options.fromBlock ?? 0,
    toBlock,
    options.step,
  );
  const byHash = new Map<string, string>();
  for (const log of logs) {
    const parsed = REGISTERED.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed) byHash.set(String(parsed.args.identifierHash).toLowerCase(), getAddress(parsed.args.provider));
  }
  const keyOf = options.identifierKey ?? defaultIdentifierKey;
  const hash = options.hash ?? ((key: string) => id(key));
  return (reference) => {
    const identifier = reference.identifier;
    const key = identifier === undefined ? undefined : keyOf(identifier);
    return key === undefined ? undefined : byHash.get(hash(key).toLowerCase());
  };
}
