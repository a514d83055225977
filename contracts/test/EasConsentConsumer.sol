// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev The attestation record of the Ethereum Attestation Service (EAS 1.x `Common.sol`), field for field.
struct EasAttestation {
    bytes32 uid;
    bytes32 schema;
    uint64 time;
    uint64 expirationTime;
    uint64 revocationTime;
    bytes32 refUID;
    address recipient;
    address attester;
    bool revocable;
    bytes data;
}

/// @title IEasAttestations
/// @notice The one EAS view the consumer needs.
interface IEasAttestations {
    /// @notice The attestation `uid` (all zero when unknown).
    /// @param uid the attestation's unique id
    /// @return the attestation
    function getAttestation(bytes32 uid) external view returns (EasAttestation memory);
}

/**
 * @title EasConsentConsumer
 * @notice The gas benchmark's EAS counterpart of {ConsentConsumer}: a contract that checks, before acting, that a patient
 * consented to it, when the consent is an EAS attestation of the schema
 * `bytes32 category,uint32 purposes,uint8 actions` made by the patient to this contract. EAS stores attestations by
 * uid and does not interpret them, so the consumer is given the uid (found off-chain) and checks the fields itself:
 * that check is part of the measured job. It does not see denies, ANY_CATEGORY or a revoke-all, which EAS lacks.
 */
contract EasConsentConsumer {
    /// @notice The EAS instance read.
    IEasAttestations public immutable eas;

    /// @notice The answer of the last measured check.
    bool public lastAnswer;
    /// @notice The gas of the last measured check.
    uint256 public lastGas;

    constructor(IEasAttestations eas_) {
        eas = eas_;
    }

    /// @notice Reads attestation `uid` and says whether it is `patient`'s live consent to this contract for
    /// `purpose` and `action` on `category`, storing the answer and the gas the read and the check used.
    /// @param uid the attestation holding the consent
    /// @param schema the consent schema's uid
    /// @param patient the attester the consent must come from
    /// @param category the category asked for
    /// @param purpose the purpose asked for (a `Purpose` value)
    /// @param action the action asked for (an `Action` value)
    /// @return answer whether the attestation authorises this contract
    function check(
        bytes32 uid,
        bytes32 schema,
        address patient,
        bytes32 category,
        uint8 purpose,
        uint8 action
    ) external returns (bool answer) {
        uint256 before = gasleft();
        EasAttestation memory attestation = eas.getAttestation(uid);
        answer =
            attestation.schema == schema &&
            attestation.attester == patient &&
            attestation.recipient == address(this) &&
            attestation.revocationTime == 0 &&
            (attestation.expirationTime == 0 || block.timestamp < attestation.expirationTime);
        if (answer) {
            (bytes32 granted, uint32 purposes, uint8 actions) = abi.decode(attestation.data, (bytes32, uint32, uint8));
            answer =
                granted == category &&
                purposes & (uint32(1) << purpose) != 0 &&
                actions & (uint8(1) << action) != 0;
        }
        lastGas = before - gasleft();
        lastAnswer = answer;
    }
}
