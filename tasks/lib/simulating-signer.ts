/**
 * A signer that simulates every transaction before sending it: `eth_call`, then `eth_estimateGas` for the gas
 * limit. A refusal throws there, with the contract's custom error, and nothing is sent: no reverted transaction is
 * mined and paid for, on any node (Hardhat's own signer sends a fixed gas limit to Hardhat nodes, which then mine a
 * reverted transaction).
 */
import {
  AbstractSigner,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

export class SimulatingSigner extends AbstractSigner {
  constructor(readonly inner: Signer) {
    super(inner.provider);
  }

  connect(provider: Provider | null): SimulatingSigner {
    return new SimulatingSigner(this.inner.connect(provider));
  }

  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }

  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.inner.signTransaction(tx);
  }

  signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }

  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.inner.signTypedData(domain, types, value);
  }

  async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const request = { ...tx, from: await this.getAddress() };
    await this.inner.call(request);
    const gasLimit = tx.gasLimit ?? (await this.inner.estimateGas(request));
    return this.inner.sendTransaction({ ...tx, gasLimit });
  }
}
