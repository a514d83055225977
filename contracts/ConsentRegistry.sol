// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";

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
contract ConsentRegistry is IConsentRegistry, EIP712, Multicall {
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
     * @dev Per-patient state, one slot (low bits first): `| epoch uint32 | emergencyRefused bool |
     * emergencyEpoch uint32 | signatureEpoch uint32 | windowClosed bool | 144 free bits |`.
     * `epoch` counts {revokeAll} calls: a permit stamped with an older epoch is revoked.
     * `emergencyRefused` is false by default, so break-glass access is allowed until the patient refuses it.
     * `emergencyEpoch` counts refusals: a window opened in an older one stays closed even if access is allowed again.
     * `signatureEpoch` counts {cancelSignatures} and {revokeAll} calls: the high half of every signature nonce.
     * `windowClosed` says that the patient closed some provider's window in this emergency epoch, so that a grant
     * looks for a closed window to lift only then (a grant otherwise reads no break-glass state).
     */
    struct PatientState {
        uint32 epoch;
        bool emergencyRefused;
        uint32 emergencyEpoch;
        uint32 signatureEpoch;
        bool windowClosed;
    }

    /**
     * @dev A break-glass window, one slot: `| expiresAt uint40 | emergencyEpoch uint32 | closed bool | 176 free |`.
     * `closed` marks a window the patient closed: the provider cannot open another in the same emergency epoch
     * until the patient grants it a consent.
     */
    struct EmergencyWindow {
        uint40 expiresAt;
        uint32 emergencyEpoch;
        bool closed;
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
        _grant(msg.sender, grantee, category, purposes, actions, notBefore, expiresAt, false);
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
        _grant(patient, grantee, category, purposes, actions, notBefore, expiresAt, false);
    }

    /// @inheritdoc IConsentRegistry
    function grantWithSig(GrantRequest calldata request, uint256 deadline, bytes calldata signature) external {
        // A signature may have been made before a deny: it must neither lift it nor store a permit that a later
        // lifting of the deny would bring back to life. Checked first, so the refusal names the deny even when the
        // deny also moved the key's nonce on.
        (address key, ProviderStatus status, ) = providerRegistry.resolve(request.grantee);
        if (_denied(request.patient, request.grantee, key, status, request.category)) {
            revert DenyInForce(request.patient, request.grantee, request.category);
        }
        _checkSignature(request.patient, _grantHash(request, deadline), deadline, signature);
        _grant(
            request.patient,
            request.grantee,
            request.category,
            request.purposes,
            request.actions,
            request.notBefore,
            request.expiresAt,
            true
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
            abi.encode(
                REVOKE_TYPEHASH,
                patient,
                grantee,
                category,
                _signatureNonce(patient, grantee, category),
                deadline
            )
        );
        (address key, Consent storage consent) = _revocableConsent(patient, grantee, category);
        // A signature withdraws permits only: lifting a deny takes a transaction from the patient or a delegate.
        if (consent.decision == Decision.Deny) revert DenyInForce(patient, grantee, category);
        _checkSignature(patient, structHash, deadline, signature);
        _markRevoked(patient, key, category, consent, true);
        // The nonce belongs to the key as signed: when the consent revoked is kept under the provider's id, the
        // signature is still used up.
        if (key != grantee) ++_consents[patient][grantee][category].sequence;
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
        _revokeAll(msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function revokeAllFor(address patient) external onlyDelegateOf(patient) {
        _revokeAll(patient);
    }

    /// @inheritdoc IConsentRegistry
    function cancelSignatures() external {
        _cancelSignatures(_patients[msg.sender], msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function cancelSignaturesFor(address patient) external onlyDelegateOf(patient) {
        _cancelSignatures(_patients[patient], patient);
    }

    /// @inheritdoc IConsentRegistry
    function signatureNonce(address patient, address grantee, bytes32 category) external view returns (uint256) {
        return _signatureNonce(patient, grantee, category);
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
        if (allowed) {
            // An emergency provider must not re-open break-glass access to itself by acting as a delegate.
            (address id, ProviderStatus status, ) = providerRegistry.resolve(msg.sender);
            if (status != ProviderStatus.None) {
                (, , uint8 capabilities) = providerRegistry.resolve(providerRegistry.currentKeyOf(id));
                if (capabilities & CAPABILITY_EMERGENCY != 0) revert DelegateIsGrantee(msg.sender);
            }
        }
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
        PatientState memory state = _patients[patient];
        if (
            patient == msg.sender || state.emergencyRefused || _denied(patient, msg.sender, key, status, ANY_CATEGORY)
        ) {
            revert EmergencyAccessRefused(patient, msg.sender);
        }
        EmergencyWindow memory window = _emergency[patient][key];
        if (window.emergencyEpoch == state.emergencyEpoch) {
            if (window.closed) revert EmergencyAccessRefused(patient, msg.sender);
            if (block.timestamp < window.expiresAt) {
                revert EmergencyAccessAlreadyOpen(patient, msg.sender, window.expiresAt);
            }
        }
        uint40 expiresAt = uint40(block.timestamp) + EMERGENCY_WINDOW;
        _emergency[patient][key] = EmergencyWindow(expiresAt, state.emergencyEpoch, false);
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
     * while that key is the provider's current one. The key's sequence moves on, so that a signature made before
     * this decision can no longer land.
     */
    function _grant(
        address patient,
        address grantee,
        bytes32 category,
        uint32 purposes,
        uint8 actions,
        uint40 notBefore,
        uint40 expiresAt,
        bool signed
    ) private {
        _checkKey(patient, grantee, category);
        if (purposes == 0 || purposes & ~ALL_PURPOSES != 0) revert InvalidPurposes(purposes);
        if (actions == 0 || actions & ~ALL_ACTIONS != 0) revert InvalidActions(actions);
        uint40 start = notBefore == 0 ? uint40(block.timestamp) : notBefore;
        if (expiresAt <= start) revert InvalidPeriod(start, expiresAt);
        if (expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt, block.timestamp);

        PatientState storage state = _patients[patient];
        Consent storage consent = _consents[patient][grantee][category];
        _write(consent, purposes, actions, start, expiresAt, state.epoch, Decision.Permit, consent.sequence + 1);
        // Granting a provider a consent lifts the patient's closing of its break-glass window.
        if (state.windowClosed) _liftClosedWindow(patient, grantee, state.emergencyEpoch);
        emit ConsentGranted(patient, grantee, category, purposes, actions, start, expiresAt, msg.sender, signed);
    }

    /**
     * @dev Every deny (own, delegated) ends here. A deny is kept under the provider's stable id, so that no key
     * rotation can ever leave it behind.
     */
    function _deny(address patient, address grantee, bytes32 category) private {
        _checkKey(patient, grantee, category);
        address key = _keyOf(grantee);
        Consent storage consent = _consents[patient][key][category];
        _write(consent, 0, 0, 0, 0, 0, Decision.Deny, consent.sequence + 1);
        emit ConsentDenied(patient, key, category, msg.sender);
    }

    /**
     * @notice Writes a whole consent, issued now, in one SSTORE.
     * @dev Solidity writes a packed struct literal field by field once the slot's old value was read (for the
     * sequence): eight SSTOREs where one does. The layout is the one documented on {IConsentRegistry-Consent}; the
     * 24 top bits stay zero.
     * @param consent the slot
     * @param purposes mask of `1 << uint8(Purpose)` bits
     * @param actions mask of `1 << uint8(Action)` bits
     * @param notBefore first second the permit is in force
     * @param expiresAt first second it is no longer in force
     * @param epoch the patient's epoch
     * @param decision Permit or Deny
     * @param sequence the key's sequence after this decision
     */
    function _write(
        Consent storage consent,
        uint32 purposes,
        uint8 actions,
        uint40 notBefore,
        uint40 expiresAt,
        uint32 epoch,
        Decision decision,
        uint32 sequence
    ) private {
        uint256 packed =
            uint256(purposes) |
                (uint256(actions) << 32) |
                (uint256(notBefore) << 40) |
                (uint256(expiresAt) << 80) |
                (uint256(uint40(block.timestamp)) << 120) |
                (uint256(epoch) << 160) |
                (uint256(decision) << 192) |
                (uint256(sequence) << 200);
        // One SSTORE of the packed word; the layout is the struct's, so every Solidity read of it stays right.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(consent.slot, packed)
        }
    }

    /**
     * @notice Sets a consent's decision and moves its sequence on, keeping every other field, in one SSTORE.
     * @dev Two field assignments would write the slot twice; the layout is {IConsentRegistry-Consent}'s.
     * @param consent the slot
     * @param decision the new decision
     */
    function _markDecision(Consent storage consent, Decision decision) private {
        uint256 word;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            word := sload(consent.slot)
        }
        uint32 sequence = uint32(word >> 200) + 1;
        word = (word & ~(uint256(0xffffffffff) << 192)) | (uint256(decision) << 192) | (uint256(sequence) << 200);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(consent.slot, word)
        }
    }

    /// @dev A revocation sent by the patient or a delegate, of a permit or a deny.
    function _revoke(address patient, address grantee, bytes32 category) private {
        (address key, Consent storage consent) = _revocableConsent(patient, grantee, category);
        _markRevoked(patient, key, category, consent, false);
    }

    /**
     * @dev The consent a revocation of (`patient`, `grantee`, `category`) withdraws: looked up under `grantee` first,
     * which is its key unless `grantee` is a rotated provider key; only then is the provider registry asked.
     * Reverts with {NothingToRevoke} when there is neither a permit nor a deny.
     */
    function _revocableConsent(
        address patient,
        address grantee,
        bytes32 category
    ) private view returns (address key, Consent storage consent) {
        key = grantee;
        consent = _consents[patient][key][category];
        if (!_revocable(consent.decision)) {
            key = _keyOf(grantee);
            consent = _consents[patient][key][category];
            if (key == grantee || !_revocable(consent.decision)) revert NothingToRevoke(patient, grantee, category);
        }
    }

    /**
     * @dev Every revocation (own, delegated, signed) ends here. The consent's fields stay, marked Revoked, so
     * `consentOf` still shows what was withdrawn; the key's sequence moves on.
     */
    function _markRevoked(
        address patient,
        address key,
        bytes32 category,
        Consent storage consent,
        bool signed
    ) private {
        _markDecision(consent, Decision.Revoked);
        emit ConsentRevoked(patient, key, category, msg.sender, signed);
    }

    function _revokeAll(address patient) private {
        PatientState storage state = _patients[patient];
        uint32 epoch = ++state.epoch;
        emit AllConsentsRevoked(patient, epoch, msg.sender);
        _cancelSignatures(state, patient);
    }

    function _cancelSignatures(PatientState storage state, address patient) private {
        uint32 signatureEpoch = ++state.signatureEpoch;
        emit SignaturesCancelled(patient, signatureEpoch, msg.sender);
    }

    function _setEmergencyAccess(address patient, bool allowed) private {
        PatientState storage state = _patients[patient];
        state.emergencyRefused = !allowed;
        if (!allowed) {
            // A new emergency epoch: every open window closes for good, every closed one is forgotten.
            ++state.emergencyEpoch;
            state.windowClosed = false;
        }
        emit EmergencyAccessSet(patient, allowed, msg.sender);
    }

    function _closeEmergencyAccess(address patient, address provider) private {
        address key = _keyOf(provider);
        if (_liveWindowExpiry(patient, key) <= block.timestamp) revert NoEmergencyAccess(patient, provider);
        PatientState storage state = _patients[patient];
        _emergency[patient][key] = EmergencyWindow(0, state.emergencyEpoch, true);
        state.windowClosed = true;
        emit EmergencyAccessClosed(patient, key, msg.sender);
    }

    /// @dev Forgets that the patient closed `grantee`'s window in `emergencyEpoch`, if it did.
    function _liftClosedWindow(address patient, address grantee, uint32 emergencyEpoch) private {
        EmergencyWindow storage window = _emergency[patient][_keyOf(grantee)];
        if (window.closed && window.emergencyEpoch == emergencyEpoch) window.closed = false;
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
        // ANY_CATEGORY is a scope of consents, never the category of a piece of data.
        if (category == ANY_CATEGORY) return (false, key);

        PatientState memory state = _patients[patient];
        uint8 actionBit = uint8(1) << uint8(action);
        bool denied;
        (denied, authorized) = _evaluate(patient, key, category, state.epoch, purposes, actionBit);
        if (denied) return (false, key);
        if (grantee != key) {
            // A rotated provider key: a deny under any key the provider ever had applies, and permits given to this
            // key while it is current count too.
            if (_deniedUnderKeys(patient, key, category)) return (false, key);
            (, bool keyAuthorized) = _evaluate(patient, grantee, category, state.epoch, purposes, actionBit);
            authorized = authorized || keyAuthorized;
        }
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

    /**
     * @dev What the consents kept under `key` for `category` (never ANY_CATEGORY) and for ANY_CATEGORY say: a deny,
     * and a live permit.
     */
    function _evaluate(
        address patient,
        address key,
        bytes32 category,
        uint32 epoch,
        uint32 purposes,
        uint8 actionBit
    ) private view returns (bool denied, bool permitted) {
        Consent memory exact = _consents[patient][key][category];
        Consent memory any = _consents[patient][key][ANY_CATEGORY];
        if (exact.decision == Decision.Deny || any.decision == Decision.Deny) return (true, false);
        permitted = _covers(exact, epoch, purposes, actionBit) || _covers(any, epoch, purposes, actionBit);
    }

    /**
     * @dev Whether a deny for `category` or ANY_CATEGORY applies to `grantee`, whose consents are kept under `key`
     * and whose own status is `status`: under `key`, and, when `grantee` is a provider that rotated its key (a
     * current key that is not its id, or a retired one), under every key the provider ever had.
     */
    function _denied(
        address patient,
        address grantee,
        address key,
        ProviderStatus status,
        bytes32 category
    ) private view returns (bool) {
        if (_deniedUnder(patient, key, category)) return true;
        if (grantee == key && status != ProviderStatus.Retired) return false;
        return _deniedUnderKeys(patient, key, category);
    }

    /// @dev Whether a deny for `category` or ANY_CATEGORY is kept under any key the provider `id` had after `id`.
    function _deniedUnderKeys(address patient, address id, bytes32 category) private view returns (bool) {
        address[] memory keys = providerRegistry.keysOf(id);
        for (uint256 i = 1; i < keys.length; ++i) {
            if (_deniedUnder(patient, keys[i], category)) return true;
        }
        return false;
    }

    /// @dev Whether a deny for `category` or ANY_CATEGORY is kept under `key`.
    function _deniedUnder(address patient, address key, bytes32 category) private view returns (bool) {
        mapping(bytes32 => Consent) storage consents = _consents[patient][key];
        return consents[category].decision == Decision.Deny || consents[ANY_CATEGORY].decision == Decision.Deny;
    }

    /// @dev The EIP-712 struct hash of a signed grant, with the key's next nonce.
    function _grantHash(GrantRequest calldata request, uint256 deadline) private view returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    GRANT_TYPEHASH,
                    request.patient,
                    request.grantee,
                    request.category,
                    request.purposes,
                    request.actions,
                    request.notBefore,
                    request.expiresAt,
                    _signatureNonce(request.patient, request.grantee, request.category),
                    deadline
                )
            );
    }

    /// @dev The nonce the next signature for the key must carry: `| signatureEpoch | sequence |`, 128 bits each.
    function _signatureNonce(address patient, address grantee, bytes32 category) private view returns (uint256) {
        return (uint256(_patients[patient].signatureEpoch) << 128) | _consents[patient][grantee][category].sequence;
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

    /**
     * @dev A live delegate of `patient`, acting on someone else's consent: a delegate cannot deal with itself, nor
     * with another key (current or retired) of its own provider.
     */
    function _checkDelegateFor(address patient, address grantee) private view {
        _checkDelegate(patient);
        if (grantee == msg.sender || _keyOf(grantee) == _keyOf(msg.sender)) revert DelegateIsGrantee(msg.sender);
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
