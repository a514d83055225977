// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {ProviderStatus, ALL_CAPABILITIES, MAX_URI_LENGTH} from "./ConsentCodes.sol";

/**
 * @title ProviderRegistry
 * @notice The directory of licensed providers. See {IProviderRegistry}.
 * @dev The only contract of the project with an admin, and its power ends at this directory.
 */
contract ProviderRegistry is IProviderRegistry, AccessControl {
    /// @notice The role that registers, suspends and reinstates providers and sets their capabilities.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    mapping(address account => Provider) private _providers;
    mapping(address id => address[]) private _keys;
    mapping(address id => address newKey) private _proposedKeys;

    /// @notice Deploys the directory with its first admin and, optionally, its first registrar.
    /// @param admin receives `DEFAULT_ADMIN_ROLE`, which manages registrars
    /// @param registrar receives `REGISTRAR_ROLE` (may be the zero address to appoint registrars later)
    constructor(address admin, address registrar) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (registrar != address(0)) _grantRole(REGISTRAR_ROLE, registrar);
    }

    /// @inheritdoc IProviderRegistry
    function register(
        address provider,
        bytes32 identifierHash,
        uint8 capabilities,
        string calldata metadataURI
    ) external onlyRole(REGISTRAR_ROLE) {
        if (provider == address(0)) revert ZeroAddress();
        if (_providers[provider].status != ProviderStatus.None) revert AlreadyRegistered(provider);
        _checkCapabilities(capabilities);
        if (bytes(metadataURI).length > MAX_URI_LENGTH) revert UriTooLong(bytes(metadataURI).length, MAX_URI_LENGTH);
        _providers[provider] = Provider({
            id: provider,
            capabilities: capabilities,
            status: ProviderStatus.Active,
            registeredAt: uint40(block.timestamp),
            identifierHash: identifierHash
        });
        _keys[provider].push(provider);
        emit ProviderRegistered(provider, identifierHash, capabilities, metadataURI, msg.sender);
    }

    /// @inheritdoc IProviderRegistry
    function setCapabilities(address provider, uint8 capabilities) external onlyRole(REGISTRAR_ROLE) {
        _checkCapabilities(capabilities);
        _current(provider).capabilities = capabilities;
        emit CapabilitiesChanged(provider, capabilities, msg.sender);
    }

    /// @inheritdoc IProviderRegistry
    function suspend(address provider, bytes32 reasonHash) external onlyRole(REGISTRAR_ROLE) {
        Provider storage entry = _current(provider);
        if (entry.status == ProviderStatus.Suspended) revert AlreadySuspended(provider);
        entry.status = ProviderStatus.Suspended;
        emit ProviderSuspended(provider, reasonHash, msg.sender);
        // A proposal made before the suspension (perhaps with the key that caused it) must not survive a reinstatement.
        address id = entry.id;
        if (_proposedKeys[id] != address(0)) {
            delete _proposedKeys[id];
            emit KeyRotationProposed(id, provider, address(0));
        }
    }

    /// @inheritdoc IProviderRegistry
    function reinstate(address provider) external onlyRole(REGISTRAR_ROLE) {
        Provider storage entry = _current(provider);
        if (entry.status != ProviderStatus.Suspended) revert NotSuspended(provider);
        entry.status = ProviderStatus.Active;
        emit ProviderReinstated(provider, msg.sender);
    }

    /// @inheritdoc IProviderRegistry
    function rotateKey(address newAddress) external {
        Provider storage entry = _current(msg.sender);
        if (entry.status != ProviderStatus.Active) revert ProviderNotActive(msg.sender);
        if (_providers[newAddress].status != ProviderStatus.None) revert AlreadyRegistered(newAddress);
        address id = entry.id;
        _proposedKeys[id] = newAddress;
        emit KeyRotationProposed(id, msg.sender, newAddress);
    }

    /// @inheritdoc IProviderRegistry
    function acceptKey(address id) external {
        if (_proposedKeys[id] != msg.sender) revert KeyNotProposed(id, msg.sender);
        address[] storage keys = _keys[id];
        address oldKey = keys[keys.length - 1];
        // Active: a proposal exists only from an active provider's key, and a suspension withdraws it.
        Provider storage entry = _providers[oldKey];
        if (_providers[msg.sender].status != ProviderStatus.None) revert AlreadyRegistered(msg.sender);
        delete _proposedKeys[id];
        _providers[msg.sender] = entry;
        entry.status = ProviderStatus.Retired;
        keys.push(msg.sender);
        emit KeyRotated(id, oldKey, msg.sender);
    }

    /// @inheritdoc IProviderRegistry
    function proposedKeyOf(address id) external view returns (address) {
        return _proposedKeys[id];
    }

    /// @inheritdoc IProviderRegistry
    function currentKeyOf(address id) external view returns (address) {
        address[] storage keys = _keys[id];
        return keys.length == 0 ? address(0) : keys[keys.length - 1];
    }

    /// @inheritdoc IProviderRegistry
    function keysOf(address id) external view returns (address[] memory) {
        return _keys[id];
    }

    /// @inheritdoc IProviderRegistry
    function isActive(address provider) external view returns (bool) {
        return _providers[provider].status == ProviderStatus.Active;
    }

    /// @inheritdoc IProviderRegistry
    function hasCapability(address provider, uint8 capability) external view returns (bool) {
        Provider storage entry = _providers[provider];
        return
            capability != 0 && entry.status == ProviderStatus.Active && entry.capabilities & capability == capability;
    }

    /// @inheritdoc IProviderRegistry
    function providerOf(address account) external view returns (Provider memory) {
        return _providers[account];
    }

    /// @inheritdoc IProviderRegistry
    function resolve(address account) external view returns (address id, ProviderStatus status, uint8 capabilities) {
        Provider storage entry = _providers[account];
        status = entry.status;
        id = status == ProviderStatus.None ? account : entry.id;
        capabilities = entry.capabilities;
    }

    /// @dev The entry of a registered, unretired provider key.
    function _current(address provider) private view returns (Provider storage entry) {
        entry = _providers[provider];
        if (entry.status == ProviderStatus.None) revert UnknownProvider(provider);
        if (entry.status == ProviderStatus.Retired) revert KeyRetired(provider);
    }

    function _checkCapabilities(uint8 capabilities) private pure {
        if (capabilities == 0) revert EmptyCapabilities();
        if (capabilities & ~ALL_CAPABILITIES != 0) revert UnknownCapabilities(capabilities);
    }
}
