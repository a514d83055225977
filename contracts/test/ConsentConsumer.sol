// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IConsentRegistry} from "../interfaces/IConsentRegistry.sol";
import {Purpose, Action} from "../ConsentCodes.sol";

/**
 * @title ConsentConsumer
 * @notice A contract that asks the consent registry before acting, as a provider's on-chain application would. Used by
 * the tests and the gas benchmark to measure what one `isAuthorized` costs its caller.
 */
contract ConsentConsumer {
    /// @notice The registry asked.
    IConsentRegistry public immutable registry;

    /// @notice The answer of the last measured check.
    bool public lastAnswer;
    /// @notice The gas the last measured check used.
    uint256 public lastGas;

    /// @notice Binds the consumer to `registry_`.
    /// @param registry_ the consent registry to ask
    constructor(IConsentRegistry registry_) {
        registry = registry_;
    }

    /// @notice Asks the registry and stores the answer and the gas the call used, cold or warm as it happens.
    /// @param patient the patient whose data is asked for
    /// @param category the category
    /// @param purpose the purpose
    /// @param action the action
    /// @return the registry's answer
    function check(address patient, bytes32 category, Purpose purpose, Action action) external returns (bool) {
        uint256 before = gasleft();
        bool answer = registry.isAuthorized(patient, address(this), category, purpose, action);
        lastGas = before - gasleft();
        lastAnswer = answer;
        return answer;
    }
}
