// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RecordStatus} from "../ConsentCodes.sol";
import {IConsentRegistry} from "./IConsentRegistry.sol";

/**
 * @title IRecordRegistry
 * @notice Tamper-evident anchors for off-chain medical records. The chain holds a fingerprint (the SHA-256 of the
 * stored bytes) and, in events only, a pointer to where they are kept: never the record. Anyone holding a copy can
 * prove it is exactly what was anchored, when and by whom. A corrected version supersedes the one it replaces; a
 * record entered in error is retracted, never changed. Batches anchor a Merkle root of many records at the cost of
 * one.
 */
interface IRecordRegistry {
    /**
     * @dev What {recordOf} returns. Stored in at most four slots, of which a patient's own anchor writes two:
     * slot 0 `| patient address | anchoredAt uint40 | status uint8 |`, slot 1 `category`, slot 2 `anchoredBy` (left
     * zero when the patient anchored), slot 3 `supersededBy` (written only when superseded).
     */
    struct Record {
        address patient;
        uint40 anchoredAt;
        RecordStatus status;
        bytes32 category;
        address anchoredBy;
        bytes32 supersededBy;
    }

    /**
     * @dev One anchored batch, two slots: `root`, then `| submitter address | count uint32 | anchoredAt uint40 |`.
     */
    struct Batch {
        bytes32 root;
        address submitter;
        uint32 count;
        uint40 anchoredAt;
    }

    /// @notice Record `recordId` of `patient`, fingerprint `contentHash`, was anchored by `anchoredBy`, replacing
    /// `supersedes` (or zero); `uri` says where the bytes are kept.
    /// @param recordId the record's id
    /// @param patient the patient whose data or consents are concerned
    /// @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
    /// @param contentHash SHA-256 of the stored bytes
    /// @param anchoredBy the account that anchored it
    /// @param supersedes zero, or the id of the Active record of the same patient that this version replaces
    /// @param uri where the bytes are kept (`ipfs://<cid>` or an opaque locator), at most 512 bytes, emitted and not stored
    event RecordAnchored(
        bytes32 indexed recordId,
        address indexed patient,
        bytes32 indexed category,
        bytes32 contentHash,
        address anchoredBy,
        bytes32 supersedes,
        string uri
    );
    /// @notice Record `recordId` of `patient` was retracted (entered in error) by `by`, giving `reasonHash`.
    /// @param recordId the record's id
    /// @param patient the patient whose data or consents are concerned
    /// @param reasonHash a hash of the reason, kept off-chain
    /// @param by the account that made the change
    event RecordRetracted(bytes32 indexed recordId, address indexed patient, bytes32 reasonHash, address by);
    /// @notice `submitter` anchored the Merkle root `root` of `count` records as batch `batchId`.
    /// @param batchId the batch's id
    /// @param root the Merkle root
    /// @param count how many records the batch holds
    /// @param submitter the account that anchored the batch
    /// @param uri where the bytes are kept (`ipfs://<cid>` or an opaque locator), at most 512 bytes, emitted and not stored
    event BatchAnchored(uint256 indexed batchId, bytes32 root, uint32 count, address indexed submitter, string uri);
    /// @notice The item `leaf` of batch `batchId`, which names `patient`, was retracted by `by` (the patient or a
    /// live delegate), giving `reasonHash`: {verifyBatchItem} is false for it from now on.
    /// @param batchId the batch's id
    /// @param leaf the item's leaf: the StandardMerkleTree leaf of (patient, category, contentHash)
    /// @param patient the patient whose data or consents are concerned
    /// @param reasonHash a hash of the reason, kept off-chain
    /// @param by the account that made the change
    event BatchItemRetracted(
        uint256 indexed batchId,
        bytes32 indexed leaf,
        address indexed patient,
        bytes32 reasonHash,
        address by
    );

    /// @notice `caller` may not anchor records of `patient` in `category`: it is not the patient, a delegate, or a
    /// grantee the patient authorised to COLLECT that category.
    error NotAuthorizedWriter(address patient, address caller, bytes32 category);
    /// @notice `caller` may not retract `recordId`: only the patient, a live delegate, or the provider that anchored
    /// it (from its current, unsuspended key) may.
    error NotAuthorizedRetractor(bytes32 recordId, address caller);
    /// @notice `caller` may not supersede `recordId`: only the patient, a live delegate, or the provider that
    /// anchored it (from its current, unsuspended key) may, whatever the caller may anchor.
    error NotAuthorizedSuperseder(bytes32 recordId, address caller);
    /// @notice `recordId` is in `category`: a new version must be in the same category.
    error CategoryMismatch(bytes32 recordId, bytes32 category);
    /// @notice The content hash is zero.
    error ZeroContentHash();
    /// @notice The category is zero.
    error ZeroCategory();
    /// @notice This content is already anchored for this patient as `recordId`.
    error AlreadyAnchored(bytes32 recordId);
    /// @notice No record `recordId` was ever anchored.
    error UnknownRecord(bytes32 recordId);
    /// @notice `recordId` belongs to another patient, so it cannot be superseded here.
    error ForeignRecord(bytes32 recordId);
    /// @notice `recordId` was retracted; a retracted record cannot be superseded.
    error SupersedesRetracted(bytes32 recordId);
    /// @notice `recordId` was already superseded by `supersededBy`; supersede the newest version.
    error AlreadySuperseded(bytes32 recordId, bytes32 supersededBy);
    /// @notice `recordId` is already retracted.
    error AlreadyRetracted(bytes32 recordId);
    /// @notice The URI is `length` bytes; at most `maxLength` are accepted.
    error UriTooLong(uint256 length, uint256 maxLength);
    /// @notice A batch must hold at least one record.
    error EmptyBatch();
    /// @notice The Merkle root is zero.
    error ZeroRoot();
    /// @notice The caller already anchored this root as batch `batchId`.
    error BatchAlreadyAnchored(uint256 batchId);
    /// @notice ANY_CATEGORY is a scope of consents, never the category of a record: anchor under the record's own
    /// category.
    error NotADataCategory(bytes32 category);
    /// @notice Only an active registered provider anchors batches; `caller` is not one.
    error NotActiveProvider(address caller);
    /// @notice No batch `batchId` was anchored.
    error UnknownBatch(uint256 batchId);
    /// @notice The item `leaf` of batch `batchId` is already retracted.
    error BatchItemAlreadyRetracted(uint256 batchId, bytes32 leaf);
    /// @notice Only the patient named by a batch item, or a live delegate of the patient, retracts it; `caller` is
    /// neither for `patient`.
    error NotAuthorizedBatchRetractor(address patient, address caller);

    /**
     * @notice Anchors the fingerprint of one record of `patient`.
     * @dev Callable by the patient, a delegate of the patient whose term is running, or a grantee the consent
     * registry authorises right now for Action.COLLECT on `category` under any purpose. Reverts with
     * {NotADataCategory} for ANY_CATEGORY. Emits {RecordAnchored}.
     * @param patient the patient whose record it is
     * @param category the record's category (keccak256 of its code; never ANY_CATEGORY)
     * @param contentHash SHA-256 of the stored bytes
     * @param supersedes zero, or the id of an Active record of the same patient and category that this version
     * replaces; superseding takes the rights of {retract} on that record
     * @param uri where the bytes are kept (`ipfs://<cid>` or an opaque locator), at most 512 bytes; emitted only
     * @return recordId `keccak256(abi.encode(patient, contentHash))`
     */
    function anchor(
        address patient,
        bytes32 category,
        bytes32 contentHash,
        bytes32 supersedes,
        string calldata uri
    ) external returns (bytes32 recordId);

    /**
     * @notice Marks `recordId` as entered in error. Its history stays; nothing is deleted.
     * @dev Callable by the patient, a live delegate of the patient, or the account that anchored it while it may
     * still write the record's category for the patient: a live COLLECT permit and no deny, and for a provider its
     * current, active key (a key retired by a rotation, a suspended provider, a provider the patient has since
     * denied or revoked, or a removed delegate can no longer retract). Superseding takes the same rights. Emits
     * {RecordRetracted}.
     * @param recordId the record's id
     * @param reasonHash a hash of the reason, kept off-chain
     */
    function retract(bytes32 recordId, bytes32 reasonHash) external;

    /// @notice The record `recordId` (all zero when unknown).
    /// @param recordId the record's id
    /// @return the record, with `anchoredBy` set to the patient when the patient anchored it
    function recordOf(bytes32 recordId) external view returns (Record memory);

    /**
     * @notice Whether `contentHash` is anchored for `patient`, with its status and anchoring time.
     * @param patient the patient whose data or consents are concerned
     * @param contentHash SHA-256 of the stored bytes
     * @return anchored whether it was ever anchored
     * @return status the record's status
     * @return anchoredAt when it was anchored
     */
    function verify(
        address patient,
        bytes32 contentHash
    ) external view returns (bool anchored, RecordStatus status, uint40 anchoredAt);

    /**
     * @notice Anchors the Merkle root of `count` records (OpenZeppelin StandardMerkleTree over
     * `(address patient, bytes32 category, bytes32 contentHash)`), at a cost independent of `count`.
     * @dev Only an active registered provider ({NotActiveProvider}). Inclusion in a batch proves only that the
     * submitter committed to the item at that time: it is not a write into a patient's ledger and needs no consent,
     * so a verifier checks who the submitter is. A patient or a live delegate can retract an item that names the
     * patient ({retractBatchItem}). Emits {BatchAnchored}.
     * @param root the Merkle root
     * @param count how many records the batch holds
     * @param uri where the batch's manifest is kept (a content address or opaque locator), at most 512 bytes
     * @return batchId `uint256(keccak256(abi.encode(msg.sender, root)))`: nobody can claim another's root
     */
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external returns (uint256 batchId);

    /**
     * @notice Retracts the item (`patient`, `category`, `contentHash`) of batch `batchId`: {verifyBatchItem} is false
     * for it from now on. The batch itself, and its other items, are unchanged.
     * @dev Only `patient` or a live delegate of the patient ({NotAuthorizedBatchRetractor}). Reverts with
     * {UnknownBatch} and {BatchItemAlreadyRetracted}. No proof is needed: an item that is not in the batch can
     * never verify anyway. Emits {BatchItemRetracted}.
     * @param batchId the batch's id
     * @param patient the patient the item names
     * @param category the item's category
     * @param contentHash the item's SHA-256
     * @param reasonHash a hash of the reason, kept off-chain
     */
    function retractBatchItem(
        uint256 batchId,
        address patient,
        bytes32 category,
        bytes32 contentHash,
        bytes32 reasonHash
    ) external;

    /// @notice Whether the item (`patient`, `category`, `contentHash`) of batch `batchId` was retracted.
    /// @param batchId the batch's id
    /// @param patient the patient the item names
    /// @param category the item's category
    /// @param contentHash the item's SHA-256
    /// @return whether it was retracted
    function isBatchItemRetracted(
        uint256 batchId,
        address patient,
        bytes32 category,
        bytes32 contentHash
    ) external view returns (bool);

    /// @notice The batch `batchId` (all zero when unknown).
    /// @param batchId the batch's id
    /// @return the batch
    function batchOf(uint256 batchId) external view returns (Batch memory);

    /**
     * @notice Whether (`patient`, `category`, `contentHash`) is a leaf of batch `batchId`, by `proof` as
     * the OpenZeppelin merkle-tree library produces it, and was not retracted. It proves that the submitter
     * committed to the item when the batch was anchored, nothing more.
     * @param batchId the batch's id
     * @param proof the Merkle proof of the item, as the OpenZeppelin merkle-tree library produces it
     * @param patient the patient whose data or consents are concerned
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @param contentHash SHA-256 of the stored bytes
     * @return whether the item is in the batch
     */
    function verifyBatchItem(
        uint256 batchId,
        bytes32[] calldata proof,
        address patient,
        bytes32 category,
        bytes32 contentHash
    ) external view returns (bool);

    /// @notice The consent registry consulted for delegates and COLLECT permits, fixed at deployment.
    /// @return the consent registry
    function consentRegistry() external view returns (IConsentRegistry);
}
