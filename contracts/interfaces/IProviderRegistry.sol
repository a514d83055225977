// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ProviderStatus} from "../ConsentCodes.sol";

/**
 * @title IProviderRegistry
 * @notice A directory of licensed healthcare providers. Registrars (`REGISTRAR_ROLE`) register, suspend and reinstate
 * providers and set their capabilities; the admin (`DEFAULT_ADMIN_ROLE`, a multisig or timelock in production)
 * manages registrars. Nobody here can touch a patient's consents or records: the consent registry only asks this
 * directory whether a grantee is an active provider, and which stable id its consents are kept under.
 *
 * Every provider has a stable id: the address it was first registered with. A provider that loses a key proposes a
 * new one with {rotateKey}, and the new key takes over with {acceptKey}: the old address is retired (treated as
 * suspended forever) and the new one carries the same id, so the consents patients gave the provider follow it
 * without being granted again. Every key a provider ever had is listed by {keysOf}, so that a deny a patient gave
 * to an address before it became one of the provider's keys keeps applying to the provider.
 *
 * Capabilities: EMERGENCY is the only capability the contracts enforce (it lets a provider open break-glass
 * access). TREATMENT and RESEARCH are directory labels for people and applications reading the directory; no
 * contract grants or refuses anything on them.
 */
interface IProviderRegistry {
    /**
     * @dev One address's entry. The first slot is all the consent registry reads on its hot path:
     * `| registeredAt uint40 | status uint8 | capabilities uint8 | id address |` (low bits on the right).
     * @param id the provider's stable id (its first registered address); zero for an unregistered address
     * @param capabilities mask of CAPABILITY_TREATMENT (1), CAPABILITY_EMERGENCY (2), CAPABILITY_RESEARCH (4)
     * @param status None, Active, Suspended, or Retired for a key given up by {rotateKey}
     * @param registeredAt when the provider was first registered
     * @param identifierHash a hash of an external identifier (for example a salted NPI), never the identifier
     */
    // Two slots, as the layout above says; the rule's guess counts the bytes32 as if it could share the first.
    // solhint-disable-next-line gas-struct-packing
    struct Provider {
        address id;
        uint8 capabilities;
        ProviderStatus status;
        uint40 registeredAt;
        bytes32 identifierHash;
    }

    /// @notice `provider` was registered with stable id `provider`.
    /// @param provider a provider's address
    /// @param identifierHash a hash of an external identifier (for example a salted NPI), never the identifier itself
    /// @param capabilities mask of CAPABILITY_TREATMENT (1), CAPABILITY_EMERGENCY (2), CAPABILITY_RESEARCH (4)
    /// @param metadataURI a content address or opaque locator of public metadata, emitted and not stored
    /// @param registrar the registrar that made the change
    event ProviderRegistered(
        address indexed provider,
        bytes32 identifierHash,
        uint8 capabilities,
        string metadataURI,
        address registrar
    );
    /// @notice The capabilities of `provider` were set to `capabilities`.
    /// @param provider a provider's address
    /// @param capabilities mask of CAPABILITY_TREATMENT (1), CAPABILITY_EMERGENCY (2), CAPABILITY_RESEARCH (4)
    /// @param registrar the registrar that made the change
    event CapabilitiesChanged(address indexed provider, uint8 capabilities, address registrar);
    /// @notice `provider` was suspended: consents to it authorise nothing until it is reinstated.
    /// @param provider a provider's address
    /// @param reasonHash a hash of the reason, kept off-chain
    /// @param registrar the registrar that made the change
    event ProviderSuspended(address indexed provider, bytes32 reasonHash, address registrar);
    /// @notice `provider` was reinstated after a suspension.
    /// @param provider a provider's address
    /// @param registrar the registrar that made the change
    event ProviderReinstated(address indexed provider, address registrar);
    /// @notice The provider with stable id `id`, acting from `currentKey`, proposed `newKey` as its next key;
    /// nothing changes until `newKey` accepts with {acceptKey}.
    /// @param id the provider's stable id
    /// @param currentKey the key that made the proposal
    /// @param newKey the proposed key (zero when a proposal was withdrawn, by the provider or by its suspension)
    event KeyRotationProposed(address indexed id, address indexed currentKey, address indexed newKey);
    /// @notice The provider with stable id `id` moved from `oldKey` (now retired) to `newKey`, which accepted.
    /// @param id the provider's stable id
    /// @param oldKey the key retired
    /// @param newKey the key now in use
    event KeyRotated(address indexed id, address indexed oldKey, address indexed newKey);

    /// @notice The zero address was given where an account is needed.
    error ZeroAddress();
    /// @notice `account` is, or once was, registered (a retired key can never be registered again).
    error AlreadyRegistered(address account);
    /// @notice `account` is not a registered provider.
    error UnknownProvider(address account);
    /// @notice `account` is a key retired by a rotation; act on the provider's current key.
    error KeyRetired(address account);
    /// @notice The capabilities mask is empty.
    error EmptyCapabilities();
    /// @notice The capabilities mask has bits that name no capability.
    error UnknownCapabilities(uint8 capabilities);
    /// @notice `account` is not active (it is suspended), so it cannot do this.
    error ProviderNotActive(address account);
    /// @notice `account` is already suspended.
    error AlreadySuspended(address account);
    /// @notice `account` is not suspended, so there is nothing to reinstate.
    error NotSuspended(address account);
    /// @notice `caller` is not the key the provider `id` proposed: only the proposed key can accept a rotation.
    error KeyNotProposed(address id, address caller);
    /// @notice The metadata URI is `length` bytes; at most `maxLength` are accepted.
    error UriTooLong(uint256 length, uint256 maxLength);

    /**
     * @notice Registers `provider` as an active provider whose stable id is its own address.
     * @dev Only `REGISTRAR_ROLE`. Emits {ProviderRegistered}.
     * @param provider the provider's address
     * @param identifierHash a hash of an external identifier (for example a salted NPI), never the identifier itself
     * @param capabilities a non-empty mask of the known capability bits
     * @param metadataURI a content address or opaque locator of public metadata, emitted and not stored
     */
    function register(
        address provider,
        bytes32 identifierHash,
        uint8 capabilities,
        string calldata metadataURI
    ) external;

    /**
     * @notice Sets the capabilities of a registered, unretired `provider`.
     * @dev Only `REGISTRAR_ROLE`. Emits {CapabilitiesChanged}.
     * @param provider a provider's address
     * @param capabilities mask of CAPABILITY_TREATMENT (1), CAPABILITY_EMERGENCY (2), CAPABILITY_RESEARCH (4)
     */
    function setCapabilities(address provider, uint8 capabilities) external;

    /**
     * @notice Suspends `provider`: every consent to it stops authorising at once. Its pending key proposal, if any,
     * is withdrawn: a proposal made before a suspension (perhaps with the key that caused it) cannot be accepted after
     * a reinstatement; the provider proposes again once reinstated.
     * @dev Only `REGISTRAR_ROLE`. Emits {ProviderSuspended}, and {KeyRotationProposed} with `newKey` zero when it
     * withdraws a proposal.
     * @param provider a provider's address
     * @param reasonHash a hash of the reason, kept off-chain
     */
    function suspend(address provider, bytes32 reasonHash) external;

    /**
     * @notice Reinstates a suspended `provider`: its consents authorise again.
     * @dev Only `REGISTRAR_ROLE`. Emits {ProviderReinstated}.
     * @param provider a provider's address
     */
    function reinstate(address provider) external;

    /**
     * @notice Proposes `newAddress` as the caller's next key. Nothing moves until `newAddress` calls {acceptKey}:
     * a provider cannot rotate into an address that never agreed. A new proposal replaces the previous one;
     * proposing the zero address withdraws it.
     * @dev Only an active provider, on its current key. `newAddress` must never have been registered. Permits and
     * denies once given to `newAddress` as a plain address apply to the provider once it accepts (denies for good,
     * through {keysOf}). Emits {KeyRotationProposed}.
     * @param newAddress the proposed key, or zero to withdraw a proposal
     */
    function rotateKey(address newAddress) external;

    /**
     * @notice Accepts the rotation the provider `id` proposed to the caller: the caller becomes the provider's
     * current key, with its status and capabilities, and the previous key is retired for good.
     * @dev Reverts with {KeyNotProposed} unless the caller is the proposed key, {ProviderNotActive} when the
     * provider was suspended since, {AlreadyRegistered} when the caller was registered meanwhile. Emits
     * {KeyRotated}.
     * @param id the provider's stable id
     */
    function acceptKey(address id) external;

    /// @notice The key the provider `id` proposed and that has not accepted yet (zero when none).
    /// @param id the provider's stable id
    /// @return the proposed key
    function proposedKeyOf(address id) external view returns (address);

    /// @notice The provider's current key (zero when `id` is not a provider's stable id).
    /// @param id the provider's stable id
    /// @return the current key
    function currentKeyOf(address id) external view returns (address);

    /// @notice Every key the provider `id` has had, oldest first: `id` itself, then each accepted key (empty when
    /// `id` is not a provider's stable id). Only rotations make it longer.
    /// @param id the provider's stable id
    /// @return the keys
    function keysOf(address id) external view returns (address[] memory);

    /// @notice Whether `provider` is a registered provider that is not suspended or retired.
    /// @param provider a provider's address
    /// @return whether it is active
    function isActive(address provider) external view returns (bool);

    /// @notice Whether `provider` is active and has every bit of `capability` (false for an empty mask).
    /// @param provider a provider's address
    /// @param capability the capability bits required
    /// @return whether it is active with every bit of `capability`
    function hasCapability(address provider, uint8 capability) external view returns (bool);

    /// @notice The entry of `account`: zeroed for an unregistered address.
    /// @param account any address
    /// @return the entry
    function providerOf(address account) external view returns (Provider memory);

    /**
     * @notice What the consent registry needs to know of a grantee, in one storage read.
     * @return id the key consents to `account` are kept under: the provider's stable id, or `account` itself when
     * it is not registered
     * @return status the status of `account` itself (a retired key is Retired even if its provider is active)
     * @return capabilities the capabilities of `account` (zero when unregistered)
     * @param account any address
     */
    function resolve(address account) external view returns (address id, ProviderStatus status, uint8 capabilities);
}
