/**
 * The events of the three registries, as the contracts declare them (contracts/interfaces/*.sol). The indexer reads
 * events only, so only events are listed; test/indexer/indexer.test.ts checks every signature against the compiled
 * contracts.
 */
import { parseAbi } from "viem";

export const ConsentRegistryAbi = parseAbi([
  "event ConsentGranted(address indexed patient, address indexed grantee, bytes32 indexed category, uint32 purposes, uint8 actions, uint40 notBefore, uint40 expiresAt, address by, bool signed)",
  "event ConsentRevoked(address indexed patient, address indexed grantee, bytes32 indexed category, address by, bool signed)",
  "event ConsentDenied(address indexed patient, address indexed grantee, bytes32 indexed category, address by)",
  "event AllConsentsRevoked(address indexed patient, uint32 epoch, address by)",
  "event SignaturesCancelled(address indexed patient, uint32 signatureEpoch, address by)",
  "event DelegateSet(address indexed patient, address indexed delegate, uint40 expiresAt)",
  "event DelegateRemoved(address indexed patient, address indexed delegate)",
  "event EmergencyAccessSet(address indexed patient, bool allowed, address by)",
  "event EmergencyAccessOpened(address indexed patient, address indexed provider, uint40 openedAt, uint40 expiresAt, bytes32 reasonHash)",
  "event EmergencyAccessClosed(address indexed patient, address indexed provider, address by)",
  "event AccessRecorded(address indexed patient, address indexed grantee, bytes32 category, uint8 purpose, uint8 action, bytes32 recordId)",
]);

export const ProviderRegistryAbi = parseAbi([
  "event ProviderRegistered(address indexed provider, bytes32 identifierHash, uint8 capabilities, string metadataURI, address registrar)",
  "event CapabilitiesChanged(address indexed provider, uint8 capabilities, address registrar)",
  "event ProviderSuspended(address indexed provider, bytes32 reasonHash, address registrar)",
  "event ProviderReinstated(address indexed provider, address registrar)",
  "event KeyRotationProposed(address indexed id, address indexed currentKey, address indexed newKey)",
  "event KeyRotated(address indexed id, address indexed oldKey, address indexed newKey)",
]);

export const RecordRegistryAbi = parseAbi([
  "event RecordAnchored(bytes32 indexed recordId, address indexed patient, bytes32 indexed category, bytes32 contentHash, address anchoredBy, bytes32 supersedes, string uri)",
  "event RecordRetracted(bytes32 indexed recordId, address indexed patient, bytes32 reasonHash, address by)",
  "event BatchAnchored(uint256 indexed batchId, bytes32 root, uint32 count, address indexed submitter, string uri)",
  "event BatchItemRetracted(uint256 indexed batchId, bytes32 indexed leaf, address indexed patient, bytes32 reasonHash, address by)",
]);
