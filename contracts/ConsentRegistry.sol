// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {
    Purpose,
    Action,
    ConsentStatus,
    Decision,
    ProviderStatus,
    ANY_CATEGORY,
    ALL_PURPOSES,
    ALL_ACTIONS,
    CAPABILITY_EMERGENCY
} from "./ConsentCodes.sol";

/**
 * @title ConsentRegistry
 * @notice Patient-controlled consent: grants, denies, revocations, delegates, signed consents from any wallet,
 * break-glass access and an access trail. See {IConsentRegistry}.
 * @dev No owner, no pause, no proxy. Batching through {Multicall} (self-delegatecall) and deliberately no ERC-2771
 * forwarder: the two together let anyone spoof a patient.
 */
contract ConsentRegistry is IConsentRegistry, EIP712, Nonces, Multicall {
    /// @notice EIP-712 type hash of a signed grant. External clients sign exactly this type string.
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(address patient,address grantee,bytes32 category,uint32 purposes,uint8 actions,uint40 notBefore,uint40 expiresAt,uint256 nonce,uint256 deadline)"
    );

    /// @notice EIP-712 type hash of a signed revocation.
    bytes32 public constant REVOKE_TYPEHASH = keccak256(
        "Revoke(address patient,address grantee,bytes32 category,uint256 nonce,uint256 deadline)"
    );

    /// @notice How long a break-glass window stays open.
    uint40 public constant EMERGENCY_WINDOW = 24 hours;

    uint32 private constant _ETREAT_BIT = uint32(1) << uint8(Purpose.ETREAT);
    uint8 private constant _ACCESS_BIT = uint8(1) << uint8(Action.ACCESS);

    /**
     * @dev Per-patient state, one slot: `| epoch uint32 | emergencyRefused bool | emergencyEpoch uint32 | 184 free |`.
     * `epoch` counts {revokeAll} calls: a permit stamped with an older epoch is revoked.
     * `emergencyRefused` is false by default, so break-glass access is allowed until the patient refuses it.
     * `emergencyEpoch` counts refusals: a window opened in an older one stays closed even if access is allowed again.
     */
    struct PatientState {
        uint32 epoch;
        bool emergencyRefused;
        uint32 emergencyEpoch;
    }

    /// @dev A break-glass window, one slot: `| expiresAt uint40 | emergencyEpoch uint32 | 184 free bits |`.
    struct EmergencyWindow {
        uint40 expiresAt;
        uint32 emergencyEpoch;
    }

    /// @inheritdoc IConsentRegistry
    IProviderRegistry public immutable providerRegistry;

    mapping(address patient => PatientState) private _patients;
    mapping(address patient => mapping(address grantee => mapping(bytes32 category => Consent))) private _consents;
    mapping(address patient => mapping(address delegate => uint40 expiresAt)) private _delegates;
    mapping(address patient => mapping(address provider => EmergencyWindow)) private _emergency;

    /// @dev Only a delegate of `patient` whose term is running.
    modifier onlyDelegateOf(address patient) {
        _checkDelegate(patient);
        _;
    }

    /// @notice Deploys a consent registry bound to one provider registry for good.
    /// @param providers the provider registry consulted for suspensions, key rotations and break-glass rights
    constructor(IProviderRegistry providers) EIP712("ConsentRegistry", "1") {
        providerRegistry = providers;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Consents
    // ---------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function grant(
        address grantee,
        bytes32 category,
        uint32 purposes,
        uint8 actions,
        uint40 notBefore,
        uint40 expiresAt
    ) external {
        _grant(msg.sender, grantee, category, purposes, actions, notBefore, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function grantFor(
        address patient,
        address grantee,
        bytes32 category,
        uint32 purposes,
        uint8 actions,
        uint40 notBefore,
        uint40 expiresAt
    ) external {
        _checkDelegateFor(patient, grantee);
        _grant(patient, grantee, category, purposes, actions, notBefore, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function grantWithSig(GrantRequest calldata request, uint256 deadline, bytes calldata signature) external {
        bytes32 structHash = keccak256(
            abi.encode(
                GRANT_TYPEHASH,
                request.patient,
                request.grantee,
                request.category,
                request.purposes,
                request.actions,
                request.notBefore,
                request.expiresAt,
                _useNonce(request.patient),
                deadline
            )
        );
        _checkSignature(request.patient, structHash, deadline, signature);
        // A signature may have been made before the patient's deny: it must not lift the deny unseen.
        if (_consents[request.patient][request.grantee][request.category].decision == Decision.Deny) {
            revert DenyInForce(request.patient, request.grantee, request.category);
        }
        _grant(
            request.patient,
            request.grantee,
            request.category,
            request.purposes,
            request.actions,
            request.notBefore,
            request.expiresAt
        );
    }

    /// @inheritdoc IConsentRegistry
    function revoke(address grantee, bytes32 category) external {
        _revoke(msg.sender, grantee, category);
    }

    /// @inheritdoc IConsentRegistry
    function revokeFor(address patient, address grantee, bytes32 category) external {
        _checkDelegateFor(patient, grantee);
        _revoke(patient, grantee, category);
    }

    /// @inheritdoc IConsentRegistry
    function revokeWithSig(
        address patient,
        address grantee,
        bytes32 category,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(REVOKE_TYPEHASH, patient, grantee, category, _useNonce(patient), deadline)
        );
        _checkSignature(patient, structHash, deadline, signature);
        _revoke(patient, grantee, category);
    }

    /// @inheritdoc IConsentRegistry
    function deny(address grantee, bytes32 category) external {
        _deny(msg.sender, grantee, category);
    }

    /// @inheritdoc IConsentRegistry
    function denyFor(address patient, address grantee, bytes32 category) external {
        _checkDelegateFor(patient, grantee);
        _deny(patient, grantee, category);
    }

    /// @inheritdoc IConsentRegistry
    function revokeAll() external {
        uint32 epoch = ++_patients[msg.sender].epoch;
        emit AllConsentsRevoked(msg.sender, epoch);
    }

    /// @inheritdoc IConsentRegistry
    function useNonce() external returns (uint256) {
        return _useNonce(msg.sender);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Checks
    // ---------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function isAuthorized(
        address patient,
        address grantee,
        bytes32 category,
        Purpose purpose,
        Action action
    ) external view returns (bool authorized) {
        (authorized, ) = _authorization(patient, grantee, category, uint32(1) << uint8(purpose), action);
    }

    /// @inheritdoc IConsentRegistry
    function isAuthorizedForAny(
        address patient,
        address grantee,
        bytes32 category,
        uint32 purposes,
        Action action
    ) external view returns (bool authorized) {
        (authorized, ) = _authorization(patient, grantee, category, purposes, action);
    }

    /// @inheritdoc IConsentRegistry
    function consentOf(
        address patient,
        address grantee,
        bytes32 category
    ) external view returns (Consent memory consent, ConsentStatus status) {
        consent = _consents[patient][grantee][category];
        if (consent.decision == Decision.None) {
            address key = _keyOf(grantee);
            if (key != grantee) consent = _consents[patient][key][category];
        }
        status = _statusOf(consent, _patients[patient].epoch);
    }

    /// @inheritdoc IConsentRegistry
    function epochOf(address patient) external view returns (uint32) {
        return _patients[patient].epoch;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Delegates
    // ---------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function setDelegate(address delegate, uint40 expiresAt) external {
        if (delegate == address(0) || delegate == msg.sender) revert InvalidDelegate(delegate);
        if (expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt, block.timestamp);
        _delegates[msg.sender][delegate] = expiresAt;
        emit DelegateSet(msg.sender, delegate, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function removeDelegate(address delegate) external {
        if (_delegates[msg.sender][delegate] == 0) revert DelegateNotFound(msg.sender, delegate);
        delete _delegates[msg.sender][delegate];
        emit DelegateRemoved(msg.sender, delegate);
    }

    /// @inheritdoc IConsentRegistry
    function isDelegate(address patient, address delegate) public view returns (bool) {
        return block.timestamp < _delegates[patient][delegate];
    }

    /// @inheritdoc IConsentRegistry
    function delegateExpiry(address patient, address delegate) external view returns (uint40) {
        return _delegates[patient][delegate];
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Break-glass access and the access trail
    // ---------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function setEmergencyAccess(bool allowed) external {
        _setEmergencyAccess(msg.sender, allowed);
    }

    /// @inheritdoc IConsentRegistry
    function setEmergencyAccessFor(address patient, bool allowed) external onlyDelegateOf(patient) {
        _setEmergencyAccess(patient, allowed);
    }

    /// @inheritdoc IConsentRegistry
    function emergencyAccessAllowed(address patient) external view returns (bool) {
        return !_patients[patient].emergencyRefused;
    }

    /// @inheritdoc IConsentRegistry
    function emergencyAccess(address patient, bytes32 reasonHash) external {
        (address key, ProviderStatus status, uint8 capabilities) = providerRegistry.resolve(msg.sender);
        if (status != ProviderStatus.Active || capabilities & CAPABILITY_EMERGENCY == 0) {
            revert NotEmergencyProvider(msg.sender);
        }
        if (
            patient == msg.sender ||
            _patients[patient].emergencyRefused ||
            _consents[patient][key][ANY_CATEGORY].decision == Decision.Deny
        ) {
            revert EmergencyAccessRefused(patient, msg.sender);
        }
        uint40 expiresAt = uint40(block.timestamp) + EMERGENCY_WINDOW;
        _emergency[patient][key] = EmergencyWindow(expiresAt, _patients[patient].emergencyEpoch);
        emit EmergencyAccessOpened(patient, key, uint40(block.timestamp), expiresAt, reasonHash);
    }

    /// @inheritdoc IConsentRegistry
    function closeEmergencyAccess(address provider) external {
        _closeEmergencyAccess(msg.sender, provider);
    }

    /// @inheritdoc IConsentRegistry
    function closeEmergencyAccessFor(address patient, address provider) external onlyDelegateOf(patient) {
        _closeEmergencyAccess(patient, provider);
    }

    /// @inheritdoc IConsentRegistry
    function emergencyAccessExpiry(address patient, address provider) external view returns (uint40) {
        (address key, , ) = providerRegistry.resolve(provider);
        return _liveWindowExpiry(patient, key);
    }

    /// @inheritdoc IConsentRegistry
    function recordAccess(
        address patient,
        bytes32 category,
        Purpose purpose,
        Action action,
        bytes32 recordId
    ) external {
        (bool authorized, address key) = _authorization(
            patient,
            msg.sender,
            category,
            uint32(1) << uint8(purpose),
            action
        );
        if (!authorized) revert NotAuthorized(patient, msg.sender, category, purpose, action);
        emit AccessRecorded(patient, key, category, purpose, action, recordId);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Private: the one place each change is made
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * @dev Every grant (own, delegated, signed) ends here. A permit is kept under the grantee address as given, with
     * no call to the provider registry, which keeps a grant within one storage write and one read. Give permits to
     * a provider's stable id (the SDK does): {_authorization} honours a permit under a rotated provider key only
     * while that key is the provider's current one.
     */
    function _grant(
        address patient,
        address grantee,
        bytes32 category,
        uint32 purposes,
        uint8 actions,
        uint40 notBefore,
        uint40 expiresAt
    ) private {
        _checkKey(patient, grantee, category);
        if (purposes == 0 || purposes & ~ALL_PURPOSES != 0) revert InvalidPurposes(purposes);
        if (actions == 0 || actions & ~ALL_ACTIONS != 0) revert InvalidActions(actions);
        uint40 start = notBefore == 0 ? uint40(block.timestamp) : notBefore;
        if (expiresAt <= start) revert InvalidPeriod(start, expiresAt);
        if (expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt, block.timestamp);

        _consents[patient][grantee][category] = Consent({
            purposes: purposes,
            actions: actions,
            notBefore: start,
            expiresAt: expiresAt,
            issuedAt: uint40(block.timestamp),
            epoch: _patients[patient].epoch,
            decision: Decision.Permit
        });
        emit ConsentGranted(patient, grantee, category, purposes, actions, start, expiresAt);
    }

    /**
     * @dev Every deny (own, delegated) ends here. A deny is kept under the provider's stable id, so that no key
     * rotation can ever leave it behind.
     */
    function _deny(address patient, address grantee, bytes32 category) private {
        _checkKey(patient, grantee, category);
        address key = _keyOf(grantee);
        _consents[patient][key][category] = Consent({
            purposes: 0,
            actions: 0,
            notBefore: 0,
            expiresAt: 0,
            issuedAt: uint40(block.timestamp),
            epoch: 0,
            decision: Decision.Deny
        });
        emit ConsentDenied(patient, key, category);
    }

    /**
     * @dev Every revocation (own, delegated, signed) ends here. The consent is looked up under `grantee` first,
     * which is its key unless `grantee` is a rotated provider key; only then is the provider registry asked.
     * The consent's fields stay, marked Revoked, so `consentOf` still shows what was withdrawn.
     */
    function _revoke(address patient, address grantee, bytes32 category) private {
        address key = grantee;
        Consent storage consent = _consents[patient][key][category];
        if (!_revocable(consent.decision)) {
            key = _keyOf(grantee);
            consent = _consents[patient][key][category];
            if (key == grantee || !_revocable(consent.decision)) revert NothingToRevoke(patient, grantee, category);
        }
        consent.decision = Decision.Revoked;
        emit ConsentRevoked(patient, key, category);
    }

    function _setEmergencyAccess(address patient, bool allowed) private {
        PatientState storage state = _patients[patient];
        state.emergencyRefused = !allowed;
        if (!allowed) ++state.emergencyEpoch;
        emit EmergencyAccessSet(patient, allowed, msg.sender);
    }

    function _closeEmergencyAccess(address patient, address provider) private {
        address key = _keyOf(provider);
        if (_liveWindowExpiry(patient, key) <= block.timestamp) revert NoEmergencyAccess(patient, provider);
        delete _emergency[patient][key];
        emit EmergencyAccessClosed(patient, key, msg.sender);
    }

    /**
     * @notice The one authorisation rule. Reads the provider entry, the patient's state, the consent for the category
     * and the one for ANY_CATEGORY (and the break-glass window only when nothing else authorises): constant gas.
     * @param patient the patient whose data is concerned
     * @param grantee the account asking
     * @param category the category asked for
     * @param purposes mask of the purposes asked for (one bit for {isAuthorized})
     * @param action the action asked for
     * @return authorized whether some purpose in `purposes` is authorised for `action`
     * @return key the key the grantee's consents are kept under
     */
    function _authorization(
        address patient,
        address grantee,
        bytes32 category,
        uint32 purposes,
        Action action
    ) private view returns (bool authorized, address key) {
        ProviderStatus providerStatus;
        uint8 capabilities;
        (key, providerStatus, capabilities) = providerRegistry.resolve(grantee);
        if (providerStatus != ProviderStatus.None && providerStatus != ProviderStatus.Active) return (false, key);

        PatientState memory state = _patients[patient];
        uint8 actionBit = uint8(1) << uint8(action);
        bool denied;
        (denied, authorized) = _evaluate(patient, key, category, state.epoch, purposes, actionBit);
        if (grantee != key) {
            // A rotated provider key: permits given to this key while it is current count too.
            (bool keyDenied, bool keyAuthorized) = _evaluate(
                patient,
                grantee,
                category,
                state.epoch,
                purposes,
                actionBit
            );
            denied = denied || keyDenied;
            authorized = authorized || keyAuthorized;
        }
        if (denied) return (false, key);
        if (
            !authorized &&
            purposes & _ETREAT_BIT != 0 &&
            actionBit == _ACCESS_BIT &&
            capabilities & CAPABILITY_EMERGENCY != 0 &&
            !state.emergencyRefused
        ) {
            EmergencyWindow memory window = _emergency[patient][key];
            authorized = window.emergencyEpoch == state.emergencyEpoch && block.timestamp < window.expiresAt;
        }
    }

    /// @dev What the consents kept under `key` for `category` and for ANY_CATEGORY say: a deny, and a live permit.
    function _evaluate(
        address patient,
        address key,
        bytes32 category,
        uint32 epoch,
        uint32 purposes,
        uint8 actionBit
    ) private view returns (bool denied, bool permitted) {
        Consent memory exact = _consents[patient][key][category];
        if (exact.decision == Decision.Deny) return (true, false);
        permitted = _covers(exact, epoch, purposes, actionBit);
        if (category != ANY_CATEGORY) {
            Consent memory any = _consents[patient][key][ANY_CATEGORY];
            if (any.decision == Decision.Deny) return (true, false);
            permitted = permitted || _covers(any, epoch, purposes, actionBit);
        }
    }

    /// @dev The end of `key`'s window on `patient`, or 0 when it was opened before the patient's last refusal.
    function _liveWindowExpiry(address patient, address key) private view returns (uint40) {
        EmergencyWindow memory window = _emergency[patient][key];
        return window.emergencyEpoch == _patients[patient].emergencyEpoch ? window.expiresAt : 0;
    }

    /// @dev Whether `consent` is a live permit of `epoch` covering one of `purposes` and `actionBit` now.
    function _covers(
        Consent memory consent,
        uint32 epoch,
        uint32 purposes,
        uint8 actionBit
    ) private view returns (bool) {
        return
            consent.decision == Decision.Permit &&
            consent.epoch == epoch &&
            consent.purposes & purposes != 0 &&
            consent.actions & actionBit != 0 &&
            consent.notBefore <= block.timestamp &&
            block.timestamp < consent.expiresAt;
    }

    function _statusOf(Consent memory consent, uint32 epoch) private view returns (ConsentStatus) {
        Decision decision = consent.decision;
        if (decision == Decision.None) return ConsentStatus.None;
        if (decision == Decision.Deny) return ConsentStatus.Denied;
        if (decision == Decision.Revoked || consent.epoch != epoch) return ConsentStatus.Revoked;
        if (block.timestamp < consent.notBefore) return ConsentStatus.Pending;
        if (block.timestamp >= consent.expiresAt) return ConsentStatus.Expired;
        return ConsentStatus.Active;
    }

    function _revocable(Decision decision) private pure returns (bool) {
        return decision == Decision.Permit || decision == Decision.Deny;
    }

    /// @dev The key consents to `grantee` are kept under: a registered provider's stable id, else `grantee`.
    function _keyOf(address grantee) private view returns (address key) {
        (key, , ) = providerRegistry.resolve(grantee);
    }

    /// @dev A live delegate of `patient`, acting on someone else's consent: a delegate cannot deal with itself.
    function _checkDelegateFor(address patient, address grantee) private view {
        _checkDelegate(patient);
        if (grantee == msg.sender) revert DelegateIsGrantee(msg.sender);
    }

    /// @dev Reverts unless the caller is a delegate of `patient` whose term is running.
    function _checkDelegate(address patient) private view {
        if (!isDelegate(patient, msg.sender)) revert NotDelegate(patient, msg.sender);
    }

    function _checkKey(address patient, address grantee, bytes32 category) private pure {
        if (grantee == address(0)) revert ZeroGrantee();
        if (grantee == patient) revert GranteeIsPatient(patient);
        if (category == bytes32(0)) revert ZeroCategory();
    }

    /// @dev Reverts unless `signature` is `signer`'s (EOA or ERC-1271) over `structHash` and `deadline` is not past.
    function _checkSignature(
        address signer,
        bytes32 structHash,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        bytes32 digest = _hashTypedDataV4(structHash);
        // ECDSA first: an EOA patient's account is then never touched (no cold EXTCODESIZE, 2,600 gas). A contract
        // has no key, so no ECDSA signature recovers to it; it falls through to ERC-1271, which for an address
        // without code is false.
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (error == ECDSA.RecoverError.NoError && recovered == signer) return;
        if (!SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature)) revert InvalidSignature();
    }
}
