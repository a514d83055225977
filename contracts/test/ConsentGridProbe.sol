// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ConsentRegistry} from "../ConsentRegistry.sol";
import {IConsentRegistry} from "../interfaces/IConsentRegistry.sol";
import {IProviderRegistry} from "../interfaces/IProviderRegistry.sol";
import {IRecordRegistry} from "../interfaces/IRecordRegistry.sol";
import {Purpose, Action, ConsentStatus, ProviderStatus} from "../ConsentCodes.sol";

/**
 * @title ConsentGridProbe
 * @notice Test-only reader for the model-based property tests: in ONE `eth_call` it asks the real registries every
 * question the tests compare with the reference model (every `isAuthorized` of a small universe as a bitmap, every
 * `consentOf`, epochs, signature nonces, delegates, break-glass windows, provider entries and keys, records, Merkle
 * batches and their items). It only calls the registries' public views, so it checks the deployed code, not a copy of
 * it.
 */
contract ConsentGridProbe {
    uint256 private constant _PURPOSES = 10;
    uint256 private constant _ACTIONS = 5;

    /// @notice The accounts and keys of the universe the tests explore.
    struct Universe {
        address[] patients;
        address[] grantees;
        bytes32[] categories;
        address[] owners; // every account that may have appointed delegates
        address[] candidates; // every account that may be a delegate
        bytes32[] recordIds;
        uint256[] batchIds;
        BatchItem[] batchItems;
        // index b * batchItems + i: the item's proof in the batch's tree (empty when it is not a leaf)
        bytes32[][] batchProofs;
    }

    /// @notice One item a Merkle batch may hold.
    struct BatchItem {
        address patient;
        bytes32 category;
        bytes32 contentHash;
    }

    /// @notice Everything observable about the universe at one block.
    struct Observation {
        uint256 timestamp;
        // bit ((((p * G + g) * C + c) * 10 + purpose) * 5 + action), 256 bits a word
        uint256[] authorized;
        // index (p * G + g) * C + c
        IConsentRegistry.Consent[] consents;
        ConsentStatus[] statuses;
        uint256[] signatureNonces;
        // index p
        uint32[] epochs;
        bool[] emergencyAllowed;
        // index p * G + g
        uint40[] emergencyExpiry;
        // index o * candidates + d
        uint40[] delegateExpiry;
        bool[] isDelegate;
        // index g
        address[] providerIds;
        ProviderStatus[] providerStatus;
        uint8[] capabilities;
        address[] proposedKeys;
        address[] currentKeys;
        address[][] keyLists;
        // index r
        IRecordRegistry.Record[] records;
        // index b
        IRecordRegistry.Batch[] batches;
        // index b * batchItems + i
        bool[] batchItemRetracted;
        bool[] batchItemVerified;
    }

    /// @notice Observes `universe` through the views of `consents`, its provider registry, and `records`.
    /// @param consents the consent registry
    /// @param records the record registry
    /// @param universe the accounts, categories and record ids to observe
    /// @return o what the registries say now
    function observe(
        ConsentRegistry consents,
        IRecordRegistry records,
        Universe calldata universe
    ) external view returns (Observation memory o) {
        o.timestamp = block.timestamp;
        o.authorized = _authorizationGrid(consents, universe);
        _consents(consents, universe, o);
        _patients(consents, universe, o);
        _delegates(consents, universe, o);
        _providers(consents.providerRegistry(), universe, o);
        o.records = new IRecordRegistry.Record[](universe.recordIds.length);
        for (uint256 r = 0; r < universe.recordIds.length; ++r) {
            o.records[r] = records.recordOf(universe.recordIds[r]);
        }
        _batches(records, universe, o);
    }

    function _authorizationGrid(
        ConsentRegistry consents,
        Universe calldata u
    ) private view returns (uint256[] memory words) {
        uint256 cells = u.patients.length * u.grantees.length * u.categories.length * _PURPOSES * _ACTIONS;
        words = new uint256[]((cells + 255) / 256);
        uint256 bit = 0;
        for (uint256 p = 0; p < u.patients.length; ++p) {
            for (uint256 g = 0; g < u.grantees.length; ++g) {
                for (uint256 c = 0; c < u.categories.length; ++c) {
                    for (uint256 purpose = 0; purpose < _PURPOSES; ++purpose) {
                        for (uint256 action = 0; action < _ACTIONS; ++action) {
                            if (
                                consents.isAuthorized(
                                    u.patients[p],
                                    u.grantees[g],
                                    u.categories[c],
                                    Purpose(purpose),
                                    Action(action)
                                )
                            ) words[bit >> 8] |= uint256(1) << (bit & 255);
                            ++bit;
                        }
                    }
                }
            }
        }
    }

    function _consents(ConsentRegistry consents, Universe calldata u, Observation memory o) private view {
        uint256 n = u.patients.length * u.grantees.length * u.categories.length;
        o.consents = new IConsentRegistry.Consent[](n);
        o.statuses = new ConsentStatus[](n);
        o.signatureNonces = new uint256[](n);
        uint256 i = 0;
        for (uint256 p = 0; p < u.patients.length; ++p) {
            for (uint256 g = 0; g < u.grantees.length; ++g) {
                for (uint256 c = 0; c < u.categories.length; ++c) {
                    (o.consents[i], o.statuses[i]) = consents.consentOf(u.patients[p], u.grantees[g], u.categories[c]);
                    o.signatureNonces[i] = consents.signatureNonce(u.patients[p], u.grantees[g], u.categories[c]);
                    ++i;
                }
            }
        }
    }

    function _patients(ConsentRegistry consents, Universe calldata u, Observation memory o) private view {
        uint256 n = u.patients.length;
        o.epochs = new uint32[](n);
        o.emergencyAllowed = new bool[](n);
        o.emergencyExpiry = new uint40[](n * u.grantees.length);
        for (uint256 p = 0; p < n; ++p) {
            o.epochs[p] = consents.epochOf(u.patients[p]);
            o.emergencyAllowed[p] = consents.emergencyAccessAllowed(u.patients[p]);
            for (uint256 g = 0; g < u.grantees.length; ++g) {
                o.emergencyExpiry[p * u.grantees.length + g] = consents.emergencyAccessExpiry(
                    u.patients[p],
                    u.grantees[g]
                );
            }
        }
    }

    function _delegates(ConsentRegistry consents, Universe calldata u, Observation memory o) private view {
        uint256 n = u.owners.length * u.candidates.length;
        o.delegateExpiry = new uint40[](n);
        o.isDelegate = new bool[](n);
        uint256 i = 0;
        for (uint256 owner = 0; owner < u.owners.length; ++owner) {
            for (uint256 d = 0; d < u.candidates.length; ++d) {
                o.delegateExpiry[i] = consents.delegateExpiry(u.owners[owner], u.candidates[d]);
                o.isDelegate[i] = consents.isDelegate(u.owners[owner], u.candidates[d]);
                ++i;
            }
        }
    }

    function _providers(IProviderRegistry providers, Universe calldata u, Observation memory o) private view {
        o.providerIds = new address[](u.grantees.length);
        o.providerStatus = new ProviderStatus[](u.grantees.length);
        o.capabilities = new uint8[](u.grantees.length);
        o.proposedKeys = new address[](u.grantees.length);
        o.currentKeys = new address[](u.grantees.length);
        o.keyLists = new address[][](u.grantees.length);
        for (uint256 g = 0; g < u.grantees.length; ++g) {
            (o.providerIds[g], o.providerStatus[g], o.capabilities[g]) = providers.resolve(u.grantees[g]);
            o.proposedKeys[g] = providers.proposedKeyOf(u.grantees[g]);
            o.currentKeys[g] = providers.currentKeyOf(u.grantees[g]);
            o.keyLists[g] = providers.keysOf(u.grantees[g]);
        }
    }

    function _batches(IRecordRegistry records, Universe calldata u, Observation memory o) private view {
        uint256 items = u.batchItems.length;
        o.batches = new IRecordRegistry.Batch[](u.batchIds.length);
        o.batchItemRetracted = new bool[](u.batchIds.length * items);
        o.batchItemVerified = new bool[](u.batchIds.length * items);
        for (uint256 b = 0; b < u.batchIds.length; ++b) {
            o.batches[b] = records.batchOf(u.batchIds[b]);
            for (uint256 i = 0; i < items; ++i) {
                BatchItem calldata item = u.batchItems[i];
                o.batchItemRetracted[b * items + i] = records.isBatchItemRetracted(
                    u.batchIds[b],
                    item.patient,
                    item.category,
                    item.contentHash
                );
                o.batchItemVerified[b * items + i] = records.verifyBatchItem(
                    u.batchIds[b],
                    u.batchProofs[b * items + i],
                    item.patient,
                    item.category,
                    item.contentHash
                );
            }
        }
    }
}
