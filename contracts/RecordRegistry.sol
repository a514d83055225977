// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IRecordRegistry} from "./interfaces/IRecordRegistry.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Action, RecordStatus, ProviderStatus, ALL_PURPOSES, MAX_URI_LENGTH} from "./ConsentCodes.sol";

/**
 * @title RecordRegistry
 * @notice Fingerprints and version chains of off-chain medical records, and Merkle batches. See {IRecordRegistry}.
 * @dev No owner. What is anchored never changes: only a record's status moves forward
 * (Active -> Superseded and/or Retracted).
 */
contract RecordRegistry is IRecordRegistry {
    /// @inheritdoc IRecordRegistry
    IConsentRegistry public immutable consentRegistry;

    /// @dev The consent registry's provider registry, read once at deployment.
    IProviderRegistry private immutable _providers;

    mapping(bytes32 recordId => Record) private _records;
    mapping(uint256 batchId => Batch) private _batches;

    /// @notice Deploys a record registry bound to one consent registry for good.
    /// @param consents the consent registry that says who may write a patient's records
    constructor(IConsentRegistry consents) {
        consentRegistry = consents;
        _providers = consents.providerRegistry();
    }

    /// @inheritdoc IRecordRegistry
    function anchor(
        address patient,
        bytes32 category,
        bytes32 contentHash,
        bytes32 supersedes,
        string calldata uri
    ) external returns (bytes32 recordId) {
        if (category == bytes32(0)) revert ZeroCategory();
        if (contentHash == bytes32(0)) revert ZeroContentHash();
        _checkUri(uri);
        if (
            msg.sender != patient &&
            !consentRegistry.isDelegate(patient, msg.sender) &&
            !consentRegistry.isAuthorizedForAny(patient, msg.sender, category, ALL_PURPOSES, Action.COLLECT)
        ) revert NotAuthorizedWriter(patient, msg.sender, category);

        recordId = keccak256(abi.encode(patient, contentHash));
        Record storage record = _records[recordId];
        if (record.status != RecordStatus.None) revert AlreadyAnchored(recordId);

        if (supersedes != bytes32(0)) {
            Record storage previous = _records[supersedes];
            RecordStatus previousStatus = previous.status;
            if (previousStatus == RecordStatus.None) revert UnknownRecord(supersedes);
            if (previous.patient != patient) revert ForeignRecord(supersedes);
            if (previousStatus == RecordStatus.Retracted) revert SupersedesRetracted(supersedes);
            if (previousStatus == RecordStatus.Superseded) revert AlreadySuperseded(supersedes, previous.supersededBy);
            if (previous.category != category) revert CategoryMismatch(supersedes, previous.category);
            if (!_mayAmend(previous, msg.sender)) revert NotAuthorizedSuperseder(supersedes, msg.sender);
            previous.status = RecordStatus.Superseded;
            previous.supersededBy = recordId;
        }

        // Field by field, so that slots left zero (anchoredBy for the patient, supersededBy) are never written.
        record.patient = patient;
        record.anchoredAt = uint40(block.timestamp);
        record.status = RecordStatus.Active;
        record.category = category;
        if (msg.sender != patient) record.anchoredBy = msg.sender;

        emit RecordAnchored(recordId, patient, category, contentHash, msg.sender, supersedes, uri);
    }

    /// @inheritdoc IRecordRegistry
    function retract(bytes32 recordId, bytes32 reasonHash) external {
        Record storage record = _records[recordId];
        RecordStatus status = record.status;
        if (status == RecordStatus.None) revert UnknownRecord(recordId);
        if (status == RecordStatus.Retracted) revert AlreadyRetracted(recordId);
        if (!_mayAmend(record, msg.sender)) revert NotAuthorizedRetractor(recordId, msg.sender);
        record.status = RecordStatus.Retracted;
        emit RecordRetracted(recordId, record.patient, reasonHash, msg.sender);
    }

    /// @inheritdoc IRecordRegistry
    function recordOf(bytes32 recordId) external view returns (Record memory record) {
        record = _records[recordId];
        if (record.status != RecordStatus.None && record.anchoredBy == address(0)) record.anchoredBy = record.patient;
    }

    /// @inheritdoc IRecordRegistry
    function verify(
        address patient,
        bytes32 contentHash
    ) external view returns (bool anchored, RecordStatus status, uint40 anchoredAt) {
        Record storage record = _records[keccak256(abi.encode(patient, contentHash))];
        status = record.status;
        anchored = status != RecordStatus.None;
        anchoredAt = record.anchoredAt;
    }

    /// @inheritdoc IRecordRegistry
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external returns (uint256 batchId) {
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        _checkUri(uri);
        batchId = uint256(keccak256(abi.encode(msg.sender, root)));
        Batch storage batch = _batches[batchId];
        if (batch.root != bytes32(0)) revert BatchAlreadyAnchored(batchId);
        _batches[batchId] = Batch({
            root: root,
            submitter: msg.sender,
            count: count,
            anchoredAt: uint40(block.timestamp)
        });
        emit BatchAnchored(batchId, root, count, msg.sender, uri);
    }

    /// @inheritdoc IRecordRegistry
    function batchOf(uint256 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @inheritdoc IRecordRegistry
    function verifyBatchItem(
        uint256 batchId,
        bytes32[] calldata proof,
        address patient,
        bytes32 category,
        bytes32 contentHash
    ) external view returns (bool) {
        bytes32 root = _batches[batchId].root;
        if (root == bytes32(0)) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(patient, category, contentHash))));
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /**
     * @dev Whether `caller` may retract or supersede `record`: its patient, a live delegate of the patient, or the
     * provider that anchored it, acting from a key that is not suspended or retired (after a key rotation, from its
     * current key: a stolen old key can change nothing).
     */
    function _mayAmend(Record storage record, address caller) private view returns (bool) {
        address patient = record.patient;
        if (caller == patient) return true;
        address anchoredBy = record.anchoredBy;
        if (anchoredBy != address(0)) {
            (address callerId, ProviderStatus status, ) = _providers.resolve(caller);
            if (status == ProviderStatus.None || status == ProviderStatus.Active) {
                if (caller == anchoredBy) return true;
                (address anchorerId, , ) = _providers.resolve(anchoredBy);
                if (anchorerId == callerId) return true;
            }
        }
        return consentRegistry.isDelegate(patient, caller);
    }

    function _checkUri(string calldata uri) private pure {
        if (bytes(uri).length > MAX_URI_LENGTH) revert UriTooLong(bytes(uri).length, MAX_URI_LENGTH);
    }
}
