/**
 * The Ethereum Attestation Service as its npm package ships it: deployed from the package's own compiled artifacts
 * (no recompilation), with the consent schema registered, and its EIP-712 delegated-attestation typed data.
 */
import {
  AbiCoder,
  ContractFactory,
  TypedDataEncoder,
  ZeroAddress,
  Signature,
  ZeroHash,
  keccak256,
  toUtf8Bytes,
  type InterfaceAbi,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import type { EAS, SchemaRegistry } from "@ethereum-attestation-service/eas-contracts";
import { deploy } from "./deploy";

/** The EAS schema of a consent: what a grant says besides the patient (attester), grantee (recipient) and expiry. */
export const CONSENT_SCHEMA = "bytes32 category,uint32 purposes,uint8 actions";

/** The EIP-712 type EAS 1.x verifies in `attestByDelegation` (contracts/eip1271/EIP1271Verifier.sol). */
export const ATTEST_TYPES: Record<string, TypedDataField[]> = {
  Attest: [
    { name: "attester", type: "address" },
    { name: "schema", type: "bytes32" },
    { name: "recipient", type: "address" },
    { name: "expirationTime", type: "uint64" },
    { name: "revocable", type: "bool" },
    { name: "refUID", type: "bytes32" },
    { name: "data", type: "bytes" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint64" },
  ],
};

interface Artifact {
  readonly contractName: string;
  readonly abi: InterfaceAbi;
  readonly bytecode: string;
  readonly deployedBytecode: string;
}

/** A compiled artifact shipped in the package. */
export function easArtifact(name: "EAS" | "SchemaRegistry"): Artifact {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(
    `@ethereum-attestation-service/eas-contracts/artifacts/contracts/${name}.sol/${name}.json`,
  ) as Artifact;
}

/** The version of the EAS package deployed. */
export function easPackageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("@ethereum-attestation-service/eas-contracts/package.json") as { version: string }).version;
}

/** SchemaRegistry, then EAS(schemaRegistry), from the package's artifacts. */
export async function deployEas(signer: Signer) {
  const registryArtifact = easArtifact("SchemaRegistry");
  const easArtifactJson = easArtifact("EAS");
  const registry = await deploy<SchemaRegistry>(
    new ContractFactory(registryArtifact.abi, registryArtifact.bytecode, signer),
    [],
  );
  const eas = await deploy<EAS>(new ContractFactory(easArtifactJson.abi, easArtifactJson.bytecode, signer), [
    await registry.contract.getAddress(),
  ]);
  return { registry, eas };
}

/** Registers {CONSENT_SCHEMA} (no resolver, revocable) and returns its uid. */
export async function registerConsentSchema(registry: SchemaRegistry): Promise<string> {
  const uid = await registry.register.staticCall(CONSENT_SCHEMA, ZeroAddress, true);
  await (await registry.register(CONSENT_SCHEMA, ZeroAddress, true)).wait();
  return uid;
}

/** The attestation data of a consent under {CONSENT_SCHEMA}. */
export function consentData(category: string, purposes: number, actions: number): string {
  return AbiCoder.defaultAbiCoder().encode(["bytes32", "uint32", "uint8"], [category, purposes, actions]);
}

/** EAS's `AttestationRequestData` for a consent to `recipient` until `expirationTime`. */
export function attestationData(recipient: string, expirationTime: bigint | number, data: string) {
  return { recipient, expirationTime, revocable: true, refUID: ZeroHash, data, value: 0n };
}

/** EAS's EIP-712 domain, read from the deployed contract (ERC-5267). */
export async function easDomain(eas: EAS): Promise<TypedDataDomain> {
  const domain = await eas.eip712Domain();
  return {
    name: domain.name,
    version: domain.version,
    chainId: domain.chainId,
    verifyingContract: domain.verifyingContract,
  };
}

/**
 * Checks the typed data this benchmark signs against what the deployed EAS verifies: the type hash
 * (`getAttestTypeHash()`) and the domain separator (`getDomainSeparator()`). Throws on a mismatch.
 */
export async function checkAttestTypedData(eas: EAS): Promise<TypedDataDomain> {
  const domain = await easDomain(eas);
  const typeString = TypedDataEncoder.from(ATTEST_TYPES).encodeType("Attest");
  const typeHash = keccak256(toUtf8Bytes(typeString));
  if (typeHash !== (await eas.getAttestTypeHash())) throw new Error(`EAS Attest type mismatch: ${typeString}`);
  if (TypedDataEncoder.hashDomain(domain) !== (await eas.getDomainSeparator())) {
    throw new Error("EAS domain separator mismatch");
  }
  return domain;
}

/** Signs a delegated attestation; returns EAS's `Signature` struct. */
export async function signDelegatedAttest(
  signer: Pick<Signer, "signTypedData" | "getAddress">,
  domain: TypedDataDomain,
  schema: string,
  request: ReturnType<typeof attestationData>,
  nonce: bigint,
  deadline: bigint,
): Promise<{ v: number; r: string; s: string }> {
  const signature = await signer.signTypedData(domain, ATTEST_TYPES, {
    attester: await signer.getAddress(),
    schema,
    recipient: request.recipient,
    expirationTime: request.expirationTime,
    revocable: request.revocable,
    refUID: request.refUID,
    data: request.data,
    value: request.value,
    nonce,
    deadline,
  });
  const { v, r, s } = Signature.from(signature);
  return { v, r, s };
}
