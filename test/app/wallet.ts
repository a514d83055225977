/**
 * The injected test wallet of the portal's browser test: an EIP-1193 provider per role, each announced through
 * EIP-6963 (once at start and again on every `eip6963:requestProvider`), forwarding every request to the local node
 * through the page's `__walletRpc` binding (set with `exposeFunction`). The node's accounts are unlocked, so it signs
 * and sends. `eth_requestAccounts` is answered with the wallet's account (nodes do not answer it), and
 * `window.__testChain.set("0x1")` makes every wallet report another chain (for the wrong-network check), as a
 * wallet does when its user switches networks; `wallet_switchEthereumChain` switches back.
 * `window.__testAccounts.switch("test.patient", "0x…")` makes the wallet with that rdns use another of the node's
 * accounts and emit `accountsChanged`, as a wallet does when its user picks another account.
 *
 * {@link SendGate} holds `eth_sendTransaction` on its way to the node, so that the test can see a transaction in
 * its pending state for as long as it likes, then let it through.
 *
 * The script runs in the page: it is a string, so this file needs no DOM types.
 */
export interface TestWallet {
  uuid: string;
  name: string;
  rdns: string;
  account: string;
}

const ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'%3E%3Crect width='10' height='10' fill='%230b5cad'/%3E%3C/svg%3E";

export function testWalletScript(wallets: TestWallet[], chainId: number): string {
  const config = JSON.stringify({ wallets, chainId: `0x${chainId.toString(16)}`, icon: ICON });
  return `(() => {
  const config = ${config};
  const all = [];
  const chain = {
    id: config.chainId,
    set(id) {
      if (id === this.id) return;
      this.id = id;
      for (const w of all) w.emit("chainChanged", id);
    },
  };
  window.__testChain = chain;
  const byRdns = {};
  window.__testAccounts = {
    switch(rdns, account) {
      const w = byRdns[rdns];
      w.account = account;
      w.emit("accountsChanged", [account]);
    },
  };
  for (const w of config.wallets) {
    const listeners = {};
    const emit = (event, value) => (listeners[event] || []).slice().forEach((listener) => listener(value));
    w.emit = emit;
    byRdns[w.rdns] = w;
    const provider = {
      isTestWallet: true,
      async request({ method, params }) {
        if (method === "eth_requestAccounts" || method === "eth_accounts") return [w.account];
        if (method === "eth_chainId") return chain.id;
        if (method === "net_version") return String(parseInt(chain.id, 16));
        if (method === "wallet_switchEthereumChain") {
          chain.set(params[0].chainId);
          return null;
        }
        const reply = JSON.parse(await window.__walletRpc(JSON.stringify({ method, params: params || [] })));
        if (reply.error) {
          const error = new Error(reply.error.message);
          error.code = reply.error.code;
          error.data = reply.error.data;
          throw error;
        }
        return reply.result;
      },
      on(event, listener) {
        (listeners[event] = listeners[event] || []).push(listener);
      },
      removeListener(event, listener) {
        listeners[event] = (listeners[event] || []).filter((l) => l !== listener);
      },
    };
    all.push({ emit });
    const detail = Object.freeze({
      info: Object.freeze({ uuid: w.uuid, name: w.name, icon: config.icon, rdns: w.rdns }),
      provider,
    });
    const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
  }
})();`;
}

/**
 * Holds the page's `eth_sendTransaction` requests while closed: `hold()`, then `arrived()` resolves when one is
 * waiting, and `release()` lets it (and any later one) through. Open by default.
 */
export class SendGate {
  private gate?: Promise<void>;
  private open?: () => void;
  private arrival?: () => void;
  private arrivedPromise?: Promise<void>;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
    this.arrivedPromise = new Promise((resolve) => (this.arrival = resolve));
  }

  /** Resolves once a transaction is held at the gate. */
  arrived(): Promise<void> {
    return this.arrivedPromise ?? Promise.resolve();
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
    this.open = undefined;
  }

  /** Waits at the gate when `request` sends a transaction and the gate is closed. */
  async pass(request: string): Promise<void> {
    if (!this.gate || (JSON.parse(request) as { method: string }).method !== "eth_sendTransaction") return;
    this.arrival?.();
    await this.gate;
  }
}

/** Forwards one JSON-RPC request (as the page sends it) to the node; answers with the node's JSON reply. */
export async function forwardToNode(rpcUrl: string, request: string): Promise<string> {
  const { method, params } = JSON.parse(request) as { method: string; params: unknown[] };
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return response.text();
}
