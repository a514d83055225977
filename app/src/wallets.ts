/**
 * Wallet discovery: EIP-6963 (every installed wallet announces itself), with the legacy `window.ethereum` as a
 * fallback when none announces.
 */
import type { Eip1193Provider } from "ethers";

export interface Eip1193 extends Eip1193Provider {
  on?(event: string, listener: (...args: unknown[]) => void): void;
  removeListener?(event: string, listener: (...args: unknown[]) => void): void;
}

export interface WalletInfo {
  uuid: string;
  name: string;
  icon?: string;
  rdns?: string;
}

export interface DiscoveredWallet {
  info: WalletInfo;
  provider: Eip1193;
}

interface AnnounceEvent extends Event {
  detail: { info: WalletInfo; provider: Eip1193 };
}

/** Listens for wallets; `onChange` runs with the full list each time a new one announces itself. */
export function discoverWallets(onChange: (wallets: DiscoveredWallet[]) => void): DiscoveredWallet[] {
  const wallets: DiscoveredWallet[] = [];
  window.addEventListener("eip6963:announceProvider", (event) => {
    const { info, provider } = (event as AnnounceEvent).detail ?? {};
    if (!info?.uuid || !provider || wallets.some((w) => w.info.uuid === info.uuid)) return;
    wallets.push({ info, provider });
    onChange([...wallets]);
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  const legacy = (window as unknown as { ethereum?: Eip1193 }).ethereum;
  if (legacy) {
    setTimeout(() => {
      if (wallets.length === 0) {
        wallets.push({ info: { uuid: "window.ethereum", name: "Browser wallet" }, provider: legacy });
        onChange([...wallets]);
      }
    }, 400);
  }
  return wallets;
}
