// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title ERC1271Wallet
 * @notice A minimal smart-contract wallet owned by one EOA, for the tests of signed consents from any wallet. Its
 * signatures are longer than an EOA's 65 bytes: `abi.encode(address signer, bytes ecdsaSignature)` (192 bytes),
 * the way multi-key wallets name the key that signed. It is valid when `signer` is the owner and `ecdsaSignature`
 * is the owner's ECDSA signature of the hash. The owner also acts through the wallet with {execute}, so the wallet
 * can be a patient on its own.
 */
contract ERC1271Wallet is IERC1271 {
    /// @notice The EOA that signs for the wallet and calls through it.
    address public immutable owner;

    /// @notice The caller is not the owner.
    /// @param caller the account that called
    error NotOwner(address caller);

    /// @notice Creates a wallet owned by `owner_`.
    /// @param owner_ the EOA that owns the wallet
    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Calls `target` with `data` as the wallet, bubbling up any revert.
    /// @param target the contract called
    /// @param data the calldata
    /// @return result what the call returned
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        return Address.functionCall(target, data);
    }

    /// @notice ERC-1271: whether `signature` is the wallet's over `hash`.
    /// @param hash the signed hash
    /// @param signature `abi.encode(address signer, bytes ecdsaSignature)`
    /// @return magicValue `IERC1271.isValidSignature.selector` when valid, `0xffffffff` otherwise
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4 magicValue) {
        // The shortest valid encoding: signer, offset, length, and 65 bytes padded to 96.
        if (signature.length < 192) return 0xffffffff;
        (address signer, bytes memory ecdsaSignature) = abi.decode(signature, (address, bytes));
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, ecdsaSignature);
        if (signer != owner || err != ECDSA.RecoverError.NoError || recovered != owner) return 0xffffffff;
        return IERC1271.isValidSignature.selector;
    }
}
