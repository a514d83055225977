// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IRecordRegistry} from "./interfaces/IRecordRegistry.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Action, RecordStatus, ANY_CATEGORY, ALL_PURPOSES, MAX_URI_LENGTH} from "./ConsentCodes.sol";

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
    mapping(uint256 batchId => mapping(bytes32 leaf => bool)) private _retractedItems;

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
        if (category == ANY_CATEGORY) revert NotADataCategory(category);
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
        if (!_providers.isActive(msg.sender)) revert NotActiveProvider(msg.sender);
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
    function retractBatchItem(
        uint256 batchId,
        address patient,
        bytes32 category,
        bytes32 contentHash,
        bytes32 reasonHash
    ) external {
        if (msg.sender != patient && !consentRegistry.isDelegate(patient, msg.sender)) {
            revert NotAuthorizedBatchRetractor(patient, msg.sender);
        }
        if (_batches[batchId].root == bytes32(0)) revert UnknownBatch(batchId);
        bytes32 leaf = _leaf(patient, category, contentHash);
        mapping(bytes32 => bool) storage retracted = _retractedItems[batchId];
        if (retracted[leaf]) revert BatchItemAlreadyRetracted(batchId, leaf);
        retracted[leaf] = true;
        emit BatchItemRetracted(batchId, leaf, patient, reasonHash, msg.sender);
    }

    /// @inheritdoc IRecordRegistry
    function isBatchItemRetracted(
        uint256 batchId,
        address patient,
        bytes32 category,
        bytes32 contentHash
    ) external view returns (bool) {
        return _retractedItems[batchId][_leaf(patient, category, contentHash)];
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
        bytes32 leaf = _leaf(patient, category, contentHash);
        return !_retractedItems[batchId][leaf] && MerkleProof.verifyCalldata(proof, _batches[batchId].root, leaf);
    }

    /// @dev OpenZeppelin StandardMerkleTree's leaf of `(address, bytes32, bytes32)`.
    function _leaf(address patient, bytes32 category, bytes32 contentHash) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(patient, category, contentHash))));
    }

    /**
     * @dev Whether `caller` may retract or supersede `record`: its patient, a live delegate of the patient, or the
     * account that anchored it (for a provider, any of its keys) while it may still write the record's category for
     * the patient: a live COLLECT permit, no deny, and for a provider its current, active key (a stolen old key, a
     * suspended provider, a denied or revoked one can change nothing).
     */
    function _mayAmend(Record storage record, address caller) private view returns (bool) {
        address patient = record.patient;
        if (caller == patient || consentRegistry.isDelegate(patient, caller)) return true;
        address anchoredBy = record.anchoredBy;
        if (anchoredBy == address(0)) return false;
        if (caller != anchoredBy) {
            (address callerId, , ) = _providers.resolve(caller);
            (address anchorerId, , ) = _providers.resolve(anchoredBy);
            if (callerId != anchorerId) return false;
        }
        return consentRegistry.isAuthorizedForAny(patient, caller, record.category, ALL_PURPOSES, Action.COLLECT);
    }

    function _checkUri(string calldata uri) private pure {
        if (bytes(uri).length > MAX_URI_LENGTH) revert UriTooLong(bytes(uri).length, MAX_URI_LENGTH);
    }
}
