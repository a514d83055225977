// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Purpose, Action, ConsentStatus, Decision} from "../ConsentCodes.sol";
import {IProviderRegistry} from "./IProviderRegistry.sol";

/**
 * @title IConsentRegistry
 * @notice Each patient's consent registry: who may see which category of the patient's data, for which purposes
 * and actions, from when and until when. Only the patient, or a delegate the patient appointed and whose term has
 * not ended, changes a patient's consents; no owner, pause or upgrade stands over them.
 *
 * A consent is kept per (patient, grantee, category). For a registered provider the key is the provider's stable
 * id, so consents follow a provider through key rotations. Every check is a fixed number of storage reads,
 * whatever the number of consents: `revokeAll` moves the patient to a new epoch rather than touching consents.
 * The history lives in events, which carry every field and who acted (`by`; `signed` for a relayed signature).
 *
 * Signed consents: each key has its own sequence of signature nonces ({signatureNonce}), so a patient can sign for
 * several clinics at once and each submits when it likes, while signatures for one key land in order. Every direct
 * decision on a key moves its sequence on, so a signature made before it can no longer land. {cancelSignatures} and
 * {revokeAll} cancel every unsubmitted signature of the patient at once.
 */
interface IConsentRegistry {
    /**
     * @dev One stored consent, one storage slot (low bits first):
     * `| purposes uint32 | actions uint8 | notBefore uint40 | expiresAt uint40 | issuedAt uint40 | epoch uint32 |
     * decision uint8 | sequence uint32 | 24 free bits |`.
     * @param purposes mask of `1 << uint8(Purpose)` bits
     * @param actions mask of `1 << uint8(Action)` bits
     * @param notBefore first second the permit is in force
     * @param expiresAt first second the permit is no longer in force
     * @param issuedAt when the consent was last written (FHIR Consent.dateTime)
     * @param epoch the patient's `revokeAll` epoch the consent was given in; an older epoch means revoked
     * @param decision Permit, Deny, or Revoked
     * @param sequence how many decisions were made on this key: the low half of its next signature nonce
     */
    // One slot, as the layout above says (232 bits); the rule's guess does not add up packed widths.
    // solhint-disable-next-line gas-struct-packing
    struct Consent {
        uint32 purposes;
        uint8 actions;
        uint40 notBefore;
        uint40 expiresAt;
        uint40 issuedAt;
        uint32 epoch;
        Decision decision;
        uint32 sequence;
    }

    /**
     * @dev A grant as a patient signs it for {grantWithSig}; the EIP-712 type adds the nonce and the deadline.
     */
    struct GrantRequest {
        address patient;
        address grantee;
        bytes32 category;
        uint32 purposes;
        uint8 actions;
        uint40 notBefore;
        uint40 expiresAt;
    }

    /// @notice `patient` permitted `grantee` the `actions` on `category` for the `purposes`, from `notBefore` until
    /// `expiresAt` (exclusive). Replaces any earlier permit or deny for the key.
    /// @param patient the patient whose data or consents are concerned
    /// @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
    /// @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
    /// @param purposes mask of `1 << uint8(Purpose)` bits
    /// @param actions mask of `1 << uint8(Action)` bits
    /// @param notBefore first second the permit is in force (0: now)
    /// @param expiresAt first second it is no longer in force
    /// @param by the account that sent the change: the patient, a delegate, or the relayer of a signature
    /// @param signed whether the change is the patient's signature, submitted by `by`
    event ConsentGranted(
        address indexed patient,
        address indexed grantee,
        bytes32 indexed category,
        uint32 purposes,
        uint8 actions,
        uint40 notBefore,
        uint40 expiresAt,
        address by,
        bool signed
    );
    /// @notice `patient` withdrew the permit or deny for (`grantee`, `category`).
    /// @param patient the patient whose data or consents are concerned
    /// @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
    /// @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
    /// @param by the account that sent the change: the patient, a delegate, or the relayer of a signature
    /// @param signed whether the change is the patient's signature, submitted by `by`
    event ConsentRevoked(
        address indexed patient,
        address indexed grantee,
        bytes32 indexed category,
        address by,
        bool signed
    );
    /// @notice `patient` denied `grantee` any access to `category` (every category for ANY_CATEGORY).
    /// @param patient the patient whose data or consents are concerned
    /// @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
    /// @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
    /// @param by the account that sent the change: the patient or a delegate
    event ConsentDenied(address indexed patient, address indexed grantee, bytes32 indexed category, address by);
    /// @notice `patient` ended every permit given so far; the patient is now in `epoch`. Denies stay.
    /// @param patient the patient whose data or consents are concerned
    /// @param epoch the patient's new epoch
    /// @param by the account that sent the change: the patient or a delegate
    event AllConsentsRevoked(address indexed patient, uint32 epoch, address by);
    /// @notice Every signature of `patient` not submitted yet was cancelled; its signature epoch is now
    /// `signatureEpoch` (the high half of every nonce from now on).
    /// @param patient the patient whose data or consents are concerned
    /// @param signatureEpoch the patient's new signature epoch
    /// @param by the account that sent the change: the patient or a delegate
    event SignaturesCancelled(address indexed patient, uint32 signatureEpoch, address by);
    /// @notice `patient` appointed `delegate` to manage their consents until `expiresAt` (exclusive).
    /// @param patient the patient whose data or consents are concerned
    /// @param delegate the delegate (guardian, holder of power of attorney, carer)
    /// @param expiresAt first second it is no longer in force
    event DelegateSet(address indexed patient, address indexed delegate, uint40 expiresAt);
    /// @notice `patient` removed `delegate`.
    /// @param patient the patient whose data or consents are concerned
    /// @param delegate the delegate (guardian, holder of power of attorney, carer)
    event DelegateRemoved(address indexed patient, address indexed delegate);
    /// @notice Break-glass access to `patient`'s data was allowed (the default) or refused, by `by`.
    /// @param patient the patient whose data or consents are concerned
    /// @param allowed true to allow break-glass access, false to refuse it
    /// @param by the account that made the change
    event EmergencyAccessSet(address indexed patient, bool allowed, address by);
    /// @notice `provider` opened break-glass access to `patient` until `expiresAt`, giving `reasonHash`.
    /// @param patient the patient whose data or consents are concerned
    /// @param provider a provider's address
    /// @param openedAt when the window opened
    /// @param expiresAt first second it is no longer in force
    /// @param reasonHash a hash of the reason, kept off-chain
    event EmergencyAccessOpened(
        address indexed patient,
        address indexed provider,
        uint40 openedAt,
        uint40 expiresAt,
        bytes32 reasonHash
    );
    /// @notice `by` closed `provider`'s break-glass access to `patient` before it expired.
    /// @param patient the patient whose data or consents are concerned
    /// @param provider a provider's address
    /// @param by the account that made the change
    event EmergencyAccessClosed(address indexed patient, address indexed provider, address by);
    /// @notice `grantee` accessed `patient`'s data under consent (HIPAA accounting of disclosures).
    /// @param patient the patient whose data or consents are concerned
    /// @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
    /// @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
    /// @param purpose the purpose of use
    /// @param action the action
    /// @param recordId the record's id
    event AccessRecorded(
        address indexed patient,
        address indexed grantee,
        bytes32 category,
        Purpose purpose,
        Action action,
        bytes32 recordId
    );

    /// @notice The grantee is the zero address.
    error ZeroGrantee();
    /// @notice A patient cannot give a consent to themself.
    error GranteeIsPatient(address patient);
    /// @notice The category is zero; use keccak256 of a category code, a record id, or ANY_CATEGORY.
    error ZeroCategory();
    /// @notice The purposes mask is empty or has bits that name no purpose.
    error InvalidPurposes(uint32 purposes);
    /// @notice The actions mask is empty or has bits that name no action.
    error InvalidActions(uint8 actions);
    /// @notice The consent would end before it starts: `expiresAt` must be after `notBefore`.
    error InvalidPeriod(uint40 notBefore, uint40 expiresAt);
    /// @notice `expiresAt` is not after the current block time `now`.
    error ExpiryNotInFuture(uint40 expiresAt, uint256 now);
    /// @notice `caller` is not a delegate of `patient` whose term is running.
    error NotDelegate(address patient, address caller);
    /// @notice A delegate cannot grant, revoke or deny a consent to itself, or to another key of its own provider,
    /// nor re-enable break-glass access when it is an emergency provider: only the patient can.
    error DelegateIsGrantee(address delegate);
    /// @notice The patient denied `grantee` the `category` (or every category): a signature can neither lift a deny
    /// nor grant past it. Lifting a deny takes a transaction from the patient or a live delegate.
    error DenyInForce(address patient, address grantee, bytes32 category);
    /// @notice There is no permit or deny for (`patient`, `grantee`, `category`) to revoke.
    error NothingToRevoke(address patient, address grantee, bytes32 category);
    /// @notice The delegate is the zero address or the patient themself.
    error InvalidDelegate(address delegate);
    /// @notice `delegate` is not a delegate of `patient`.
    error DelegateNotFound(address patient, address delegate);
    /// @notice The signature is not the patient's for this exact message, nonce, chain and contract: it may be
    /// altered, signed by someone else, already submitted, or cancelled by a later decision on the same key,
    /// {cancelSignatures} or {revokeAll}.
    error InvalidSignature();
    /// @notice The signature's deadline `deadline` has passed.
    error SignatureExpired(uint256 deadline);
    /// @notice `provider` is not an active registered provider with the emergency capability.
    error NotEmergencyProvider(address provider);
    /// @notice `patient` has refused break-glass access, denied `provider` every category, or closed `provider`'s
    /// last window (until break-glass is turned off and on again, or `provider` is granted a consent).
    error EmergencyAccessRefused(address patient, address provider);
    /// @notice `provider` already has a break-glass window on `patient` open until `expiresAt`: windows are not
    /// renewed while open.
    error EmergencyAccessAlreadyOpen(address patient, address provider, uint40 expiresAt);
    /// @notice `provider` has no break-glass access to `patient` open.
    error NoEmergencyAccess(address patient, address provider);
    /// @notice `grantee` is not authorised for this access to `patient`'s data right now.
    error NotAuthorized(address patient, address grantee, bytes32 category, Purpose purpose, Action action);

    /**
     * @notice Permits `grantee` the `actions` on the caller's `category` data for the `purposes`, from `notBefore`
     * (0: now) until `expiresAt` (exclusive). Replaces any earlier permit or deny for the same key.
     * @dev Emits {ConsentGranted}. Reverts on a zero grantee, the caller as grantee, a zero category, an empty or
     * unknown purposes or actions mask, `expiresAt <= notBefore`, or `expiresAt` not in the future.
     * @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @param purposes mask of `1 << uint8(Purpose)` bits
     * @param actions mask of `1 << uint8(Action)` bits
     * @param notBefore first second the permit is in force (0: now)
     * @param expiresAt first second it is no longer in force
     */
    function grant(
        address grantee,
        bytes32 category,
        uint32 purposes,
        uint8 actions,
        uint40 notBefore,
        uint40 expiresAt
    ) external;

    /**
     * @notice Withdraws the caller's permit or deny for (`grantee`, `category`).
     * @dev Emits {ConsentRevoked}. Reverts with {NothingToRevoke} when there is neither.
     * @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     */
    function revoke(address grantee, bytes32 category) external;

    /**
     * @notice Denies `grantee` any access to the caller's `category` data (FHIR decision = deny). A deny for a
     * category, or for ANY_CATEGORY, beats every permit for that grantee, and survives {revokeAll}.
     * @dev Emits {ConsentDenied}. Replaces any earlier permit for the same key.
     * @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     */
    function deny(address grantee, bytes32 category) external;

    /**
     * @notice Ends every permit the caller has given, and cancels every signature not submitted yet, in constant gas
     * whatever their number. Denies stay in force; delegates and break-glass settings are unchanged; consents
     * granted afterwards work normally.
     * @dev Emits {AllConsentsRevoked} and {SignaturesCancelled}.
     */
    function revokeAll() external;

    /// @notice {revokeAll} on behalf of `patient`, by a live delegate of the patient (for a patient who cannot act).
    /// @param patient the patient whose data or consents are concerned
    function revokeAllFor(address patient) external;

    /**
     * @notice Cancels every signature of the caller not submitted yet, for every key, in constant gas. Consents in
     * force stay.
     * @dev Emits {SignaturesCancelled}.
     */
    function cancelSignatures() external;

    /// @notice {cancelSignatures} on behalf of `patient`, by a live delegate of the patient.
    /// @param patient the patient whose data or consents are concerned
    function cancelSignaturesFor(address patient) external;

    /**
     * @notice The nonce the next signed grant or revocation for (`patient`, `grantee`, `category`) must carry:
     * the patient's signature epoch in the high 128 bits, the key's sequence in the low 128 bits.
     * @param patient the patient whose data or consents are concerned
     * @param grantee the account the consent is given to, exactly as the signature names it
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @return the nonce
     */
    function signatureNonce(address patient, address grantee, bytes32 category) external view returns (uint256);

    /**
     * @notice Whether `grantee` may perform `action` on `patient`'s `category` data for `purpose` right now.
     * @dev True only when a permit for exactly `category`, or for ANY_CATEGORY, covers the purpose and the action,
     * `notBefore <= block.timestamp < expiresAt`, it was not revoked singly or by {revokeAll}, no deny for the
     * category or for ANY_CATEGORY applies (under the provider's id, the key asked about, or any key the provider
     * ever had), and the grantee, if it is a registered provider, is active. Break-glass access opened by the grantee
     * also authorises (Purpose.ETREAT, Action.ACCESS). False for `category == ANY_CATEGORY`, which is a consent
     * scope and never a data category. Constant gas in the patient's consents; for a provider that rotated its key,
     * one more read per former key.
     * @param patient the patient whose data or consents are concerned
     * @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @param purpose the purpose of use
     * @param action the action
     * @return whether the access is authorised now
     */
    function isAuthorized(
        address patient,
        address grantee,
        bytes32 category,
        Purpose purpose,
        Action action
    ) external view returns (bool);

    /**
     * @notice Whether `grantee` may perform `action` on `patient`'s `category` data for at least one of the
     * `purposes` in the mask, under the rules of {isAuthorized}.
     * @param patient the patient whose data or consents are concerned
     * @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @param purposes mask of `1 << uint8(Purpose)` bits
     * @param action the action
     * @return whether the access is authorised now for at least one purpose
     */
    function isAuthorizedForAny(
        address patient,
        address grantee,
        bytes32 category,
        uint32 purposes,
        Action action
    ) external view returns (bool);

    /**
     * @notice The consent stored for exactly (`patient`, `grantee`, `category`), and its status now.
     * @dev Reports one key: it does not fall back to ANY_CATEGORY, nor consider suspensions. When nothing is stored
     * under `grantee` and `grantee` is a rotated provider key, it reports the consent kept under the provider's
     * stable id (where denies, and the SDK's permits, are kept).
     * @param patient the patient whose data or consents are concerned
     * @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @return consent the stored consent (all zero when none)
     * @return status what the consent says now
     */
    function consentOf(
        address patient,
        address grantee,
        bytes32 category
    ) external view returns (Consent memory consent, ConsentStatus status);

    /**
     * @notice Appoints `delegate` (a guardian, a holder of power of attorney, a carer) to grant, revoke and deny on
     * the caller's behalf until `expiresAt` (exclusive). Setting it again changes the term.
     * @dev Emits {DelegateSet}. Only a patient appoints their delegates: delegates cannot appoint delegates.
     * @param delegate the delegate (guardian, holder of power of attorney, carer)
     * @param expiresAt first second it is no longer in force
     */
    function setDelegate(address delegate, uint40 expiresAt) external;

    /**
     * @notice Removes the caller's `delegate` at once.
     * @dev Emits {DelegateRemoved}. Reverts with {DelegateNotFound} when `delegate` was not appointed.
     * @param delegate the delegate (guardian, holder of power of attorney, carer)
     */
    function removeDelegate(address delegate) external;

    /// @notice Whether `delegate` is a delegate of `patient` whose term is running.
    /// @param patient the patient whose data or consents are concerned
    /// @param delegate the delegate (guardian, holder of power of attorney, carer)
    /// @return whether the delegate's term is running
    function isDelegate(address patient, address delegate) external view returns (bool);

    /// @notice When the term of `patient`'s `delegate` ends (0 when none was appointed).
    /// @param patient the patient whose data or consents are concerned
    /// @param delegate the delegate (guardian, holder of power of attorney, carer)
    /// @return the end of the term
    function delegateExpiry(address patient, address delegate) external view returns (uint40);

    /**
     * @notice {grant} on behalf of `patient`, by a delegate of the patient.
     * @dev Reverts with {NotDelegate} unless the caller's term as the patient's delegate is running, and with
     * {DelegateIsGrantee} when the delegate and the grantee are the same account or keys (current or retired) of the
     * same provider (the same holds for {revokeFor} and {denyFor}).
     * @param patient the patient whose data or consents are concerned
     * @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @param purposes mask of `1 << uint8(Purpose)` bits
     * @param actions mask of `1 << uint8(Action)` bits
     * @param notBefore first second the permit is in force (0: now)
     * @param expiresAt first second it is no longer in force
     */
    function grantFor(
        address patient,
        address grantee,
        bytes32 category,
        uint32 purposes,
        uint8 actions,
        uint40 notBefore,
        uint40 expiresAt
    ) external;

    /// @notice {revoke} on behalf of `patient`, by a delegate of the patient.
    /// @param patient the patient whose data or consents are concerned
    /// @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
    /// @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
    function revokeFor(address patient, address grantee, bytes32 category) external;

    /// @notice {deny} on behalf of `patient`, by a delegate of the patient.
    /// @param patient the patient whose data or consents are concerned
    /// @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
    /// @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
    function denyFor(address patient, address grantee, bytes32 category) external;

    /**
     * @notice Submits a grant the patient signed (EIP-712 `Grant`) with the key's next nonce ({signatureNonce}).
     * Anyone may submit it; the result is that of the patient calling {grant}, with the submitter as `by` and
     * `signed` true in the event, except that a signed grant never lands while a deny that would block it is in
     * force ({DenyInForce}): a deny of the exact key, of ANY_CATEGORY, or under the provider's id or any of its keys.
     * @dev The signature is checked with ERC-1271 when the patient is a contract, and may be of any length.
     * Reverts with {SignatureExpired} after `deadline`, {InvalidSignature} for any other mismatch.
     * @param request the signed grant
     * @param deadline last second (inclusive) at which the signature may be submitted
     * @param signature the patient's signature: ECDSA for an EOA, any length for an ERC-1271 wallet
     */
    function grantWithSig(GrantRequest calldata request, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice Submits a revocation the patient signed (EIP-712 `Revoke`) with the key's next nonce. It withdraws a
     * permit only: when the key holds a deny it reverts with {DenyInForce}, since lifting a deny takes a transaction
     * from the patient or a live delegate.
     * @dev As {grantWithSig}; the result is that of the patient calling {revoke}.
     * @param patient the patient whose data or consents are concerned
     * @param grantee the account the consent is given to (a provider's address or stable id, a person, a contract)
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @param deadline last second (inclusive) at which the signature may be submitted
     * @param signature the patient's signature: ECDSA for an EOA, any length for an ERC-1271 wallet
     */
    function revokeWithSig(
        address patient,
        address grantee,
        bytes32 category,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice The provider registry this consent registry consults, fixed at deployment.
    /// @return the provider registry
    function providerRegistry() external view returns (IProviderRegistry);

    /// @notice The number of times `patient` has called {revokeAll}.
    /// @param patient the patient whose data or consents are concerned
    /// @return the epoch
    function epochOf(address patient) external view returns (uint32);

    /**
     * @notice Allows (the default) or refuses break-glass access to the caller's data.
     * @dev Emits {EmergencyAccessSet}. Refusing also closes every window already open, for good: allowing access
     * again does not reopen them.
     * @param allowed true to allow break-glass access, false to refuse it
     */
    function setEmergencyAccess(bool allowed) external;

    /// @notice {setEmergencyAccess} on behalf of `patient`, by a delegate of the patient. A delegate that is (a key
    /// of) a provider with the EMERGENCY capability cannot turn break-glass access on ({DelegateIsGrantee}).
    /// @param patient the patient whose data or consents are concerned
    /// @param allowed true to allow break-glass access, false to refuse it
    function setEmergencyAccessFor(address patient, bool allowed) external;

    /// @notice Whether break-glass access to `patient`'s data is allowed.
    /// @param patient the patient whose data or consents are concerned
    /// @return whether break-glass access is allowed
    function emergencyAccessAllowed(address patient) external view returns (bool);

    /**
     * @notice Opens a 24-hour break-glass window in which the caller may access (Action.ACCESS) any category of
     * `patient`'s data for emergency treatment (Purpose.ETREAT), except categories the patient denied it. A window
     * is not renewed while open; one that expired may be followed by a new one, each visible as an event.
     * @dev Only an active provider with the emergency capability. Refused with {EmergencyAccessRefused} when the
     * patient refused break-glass access, denied the provider ANY_CATEGORY, or closed the provider's window since
     * break-glass was last turned on (until the patient turns it off and on again, or grants the provider a
     * consent); with {EmergencyAccessAlreadyOpen} while the provider's window is open. Emits
     * {EmergencyAccessOpened}.
     * @param patient the patient whose data or consents are concerned
     * @param reasonHash a hash of the clinical reason, kept off-chain
     */
    function emergencyAccess(address patient, bytes32 reasonHash) external;

    /// @notice Ends `provider`'s break-glass access to the caller's data now. The provider cannot open another
    /// window until the caller turns break-glass off and on again, or grants it a consent.
    /// @param provider a provider's address
    function closeEmergencyAccess(address provider) external;

    /// @notice {closeEmergencyAccess} on behalf of `patient`, by a delegate of the patient.
    /// @param patient the patient whose data or consents are concerned
    /// @param provider a provider's address
    function closeEmergencyAccessFor(address patient, address provider) external;

    /// @notice When `provider`'s break-glass window on `patient` ends (0, or a past time, when none is open; 0 when
    /// the patient refused break-glass access after it opened).
    /// @param patient the patient whose data or consents are concerned
    /// @param provider a provider's address
    /// @return the end of the window
    function emergencyAccessExpiry(address patient, address provider) external view returns (uint40);

    /**
     * @notice Records that the caller accessed `patient`'s data, for the patient's accounting of disclosures.
     * @dev Reverts with {NotAuthorized} unless {isAuthorized} holds for the caller right now (never for
     * ANY_CATEGORY, which is not a data category). Emits
     * {AccessRecorded}; writes no storage.
     * @param patient the patient whose data or consents are concerned
     * @param category the data category: keccak256 of a lower-case code, a record id, or ANY_CATEGORY
     * @param purpose the purpose of use
     * @param action the action
     * @param recordId the anchored record accessed, or zero
     */
    function recordAccess(address patient, bytes32 category, Purpose purpose, Action action, bytes32 recordId) external;
}
