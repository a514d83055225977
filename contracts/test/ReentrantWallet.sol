// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title ReentrantWallet
 * @notice A hostile ERC-1271 wallet for the adversarial tests. Its signatures are its owner's plain ECDSA
 * signatures, but before answering `isValidSignature` it calls back into a target (the consent registry) with
 * calldata chosen by the owner: to consume a nonce, to grant, to resubmit the very signature being checked, or just to
 * read. The registry asks with STATICCALL, so every state-changing callback must fail; in strict mode the wallet then
 * refuses the signature, in lenient mode it still accepts it. In `expectResult` mode it accepts only when the callback
 * succeeded and returned exactly `expected` (used to read the patient's nonce during the check).
 * @dev `isValidSignature` is deliberately not `view` (it attempts state changes); it writes no storage itself.
 */
contract ReentrantWallet {
    /// @notice What `isValidSignature` does before checking the signature.
    enum Mode {
        Plain, // no callback
        Lenient, // call back, ignore the outcome
        Strict, // call back, refuse the signature if the callback failed
        ExpectResult, // call back with STATICCALL, refuse unless it returned `expected`
        Revert // revert with {Hostile}
    }

    bytes4 private constant _MAGIC = 0x1626ba7e; // IERC1271.isValidSignature.selector

    /// @notice The EOA that signs for the wallet and configures it.
    address public immutable owner;
    /// @notice What `isValidSignature` does.
    Mode public mode;
    /// @notice The contract called back (not named `target`: ethers contracts have a `target` property).
    address public callee;
    /// @notice The calldata of the callback.
    bytes public callback;
    /// @notice The return data `ExpectResult` requires.
    bytes public expected;

    /// @notice The caller is not the owner.
    /// @param caller the account that called
    error NotOwner(address caller);
    /// @notice The wallet refuses loudly (Mode.Revert).
    error Hostile();

    /// @notice Creates a wallet owned by `owner_`.
    /// @param owner_ the EOA that owns the wallet
    constructor(address owner_) {
        owner = owner_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Sets what `isValidSignature` does.
    /// @param mode_ the mode
    /// @param callee_ the contract called back
    /// @param callback_ the calldata of the callback
    /// @param expected_ the return data `ExpectResult` requires
    function configure(
        Mode mode_,
        address callee_,
        bytes calldata callback_,
        bytes calldata expected_
    ) external onlyOwner {
        mode = mode_;
        callee = callee_;
        callback = callback_;
        expected = expected_;
    }

    /// @notice Calls `to` with `data` as the wallet (so the wallet can be a patient), bubbling up any revert.
    /// @param to the contract called
    /// @param data the calldata
    /// @return result what the call returned
    function execute(address to, bytes calldata data) external onlyOwner returns (bytes memory result) {
        return Address.functionCall(to, data);
    }

    /// @notice ERC-1271, after the configured callback.
    /// @param hash the signed hash
    /// @param signature the owner's 65-byte ECDSA signature
    /// @return magicValue the ERC-1271 magic value when valid, `0xffffffff` otherwise
    function isValidSignature(bytes32 hash, bytes calldata signature) external returns (bytes4 magicValue) {
        Mode m = mode;
        if (m == Mode.Revert) revert Hostile();
        if (m != Mode.Plain) {
            bool ok;
            bytes memory result;
            if (m == Mode.ExpectResult) {
                (ok, result) = callee.staticcall(callback);
                if (!ok || keccak256(result) != keccak256(expected)) return 0xffffffff;
            } else {
                // A state-changing call on purpose (it must fail inside the registry's STATICCALL): a low-level call
                // is the point of this mock.
                // solhint-disable-next-line avoid-low-level-calls
                (ok, ) = callee.call(callback);
                if (m == Mode.Strict && !ok) return 0xffffffff;
            }
        }
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hash, signature);
        return err == ECDSA.RecoverError.NoError && recovered == owner ? _MAGIC : bytes4(0xffffffff);
    }
}
