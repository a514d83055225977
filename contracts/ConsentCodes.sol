// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @dev Codes shared by every contract of the project, and by the SDK, which mirrors them in `src/codes.ts`.
 *
 * Purposes are the HL7 v3 PurposeOfUse codes that FHIR `Consent.provision.purpose` uses; a consent carries a
 * `uint32` mask with bit `1 << uint8(purpose)` set for each purpose it covers. Actions are the FHIR consent-action
 * codes (`http://terminology.hl7.org/CodeSystem/consentaction`); a consent carries a `uint8` mask the same way.
 *
 * A category is `keccak256(bytes(code))` of a lower-case code ("laboratory", "imaging", "mental-health"...) or
 * the id of a single anchored record. {ANY_CATEGORY} covers every category; `bytes32(0)` is never a category.
 */

/// @dev HL7 v3 PurposeOfUse: treatment, emergency treatment, payment, operations, research, public health,
/// patient request, family request, care management, coverage.
enum Purpose {
    TREAT,
    ETREAT,
    HPAYMT,
    HOPERAT,
    HRESCH,
    PUBHLTH,
    PATRQT,
    FAMRQT,
    CAREMGT,
    COVERAGE
}

/// @dev FHIR consent actions.
enum Action {
    COLLECT,
    ACCESS,
    USE,
    DISCLOSE,
    CORRECT
}

/// @dev What `consentOf` says of the consent stored for one (patient, grantee, category) key.
enum ConsentStatus {
    None, // nothing was ever stored for the key
    Active, // a permit in force now
    Pending, // a permit whose `notBefore` is still ahead
    Expired, // a permit whose `expiresAt` has passed
    Revoked, // a permit or deny withdrawn, singly or (permits only) by `revokeAll`
    Denied // an explicit deny (FHIR decision = deny)
}

/// @dev What a stored consent decides. `None` is the empty slot.
enum Decision {
    None,
    Permit,
    Deny,
    Revoked
}

/// @dev The status of an anchored record (FHIR DocumentReference status: current, superseded, entered-in-error).
enum RecordStatus {
    None,
    Active,
    Superseded,
    Retracted
}

/// @dev The status of an address in the provider registry.
enum ProviderStatus {
    None, // never registered: consents to it are governed by the patient alone
    Active,
    Suspended,
    Retired // an old key left behind by `rotateKey`: treated as suspended forever
}

/// @dev The category that stands for every category: `keccak256("*")`.
bytes32 constant ANY_CATEGORY = keccak256("*");

/// @dev Every defined purpose bit (10 purposes).
uint32 constant ALL_PURPOSES = uint32((1 << (uint256(type(Purpose).max) + 1)) - 1);

/// @dev Every defined action bit (5 actions).
uint8 constant ALL_ACTIONS = uint8((1 << (uint256(type(Action).max) + 1)) - 1);

/// @dev Provider capabilities, a `uint8` mask.
uint8 constant CAPABILITY_TREATMENT = 1;
uint8 constant CAPABILITY_EMERGENCY = 2;
uint8 constant CAPABILITY_RESEARCH = 4;
uint8 constant ALL_CAPABILITIES = 7;

/// @dev The longest URI the registries accept in an event, in bytes.
uint256 constant MAX_URI_LENGTH = 512;
