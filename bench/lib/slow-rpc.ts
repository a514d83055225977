/**
 * A JSON-RPC provider that waits a fixed time before every call, as a remote endpoint would: each request goes
 * alone (no batching), so N calls cost N round trips.
 */
import { JsonRpcProvider, type JsonRpcPayload, type JsonRpcResult } from "ethers";

export class SlowJsonRpcProvider extends JsonRpcProvider {
  calls = 0;

  constructor(
    url: string,
    readonly delayMs: number,
  ) {
    super(url, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    this.calls += Array.isArray(payload) ? payload.length : 1;
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return super._send(payload);
  }
}
