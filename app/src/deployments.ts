/** The deployments the portal knows (`deployments.json` beside the page), chain names and block explorers. */
import type { Deployment } from "./sdk";

export const CHAIN_NAMES: Record<number, string> = {
  1: "Ethereum",
  10: "OP Mainnet",
  137: "Polygon",
  8453: "Base",
  42161: "Arbitrum One",
  31337: "Local development chain",
  1337: "Local development chain",
  11155111: "Sepolia",
  17000: "Holesky",
  560048: "Hoodi",
  84532: "Base Sepolia",
  11155420: "OP Sepolia",
  421614: "Arbitrum Sepolia",
  80002: "Polygon Amoy",
};

const EXPLORERS: Record<number, string> = {
  1: "https://etherscan.io",
  10: "https://optimistic.etherscan.io",
  137: "https://polygonscan.com",
  8453: "https://basescan.org",
  42161: "https://arbiscan.io",
  11155111: "https://sepolia.etherscan.io",
  17000: "https://holesky.etherscan.io",
  560048: "https://hoodi.etherscan.io",
  84532: "https://sepolia.basescan.org",
  11155420: "https://sepolia-optimism.etherscan.io",
  421614: "https://sepolia.arbiscan.io",
  80002: "https://amoy.polygonscan.com",
};

export function chainName(chainId: number): string {
  return CHAIN_NAMES[chainId] ?? `chain ${chainId}`;
}

/** The explorer page of a transaction, on known public chains. */
export function explorerTx(chainId: number, hash: string): string | undefined {
  const base = EXPLORERS[chainId];
  return base ? `${base}/tx/${hash}` : undefined;
}

/** Reads the deployments the portal was built or served with. */
export async function loadDeployments(): Promise<Deployment[]> {
  const response = await fetch("./deployments.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`Cannot read the portal's deployments.json (HTTP ${response.status})`);
  const list = (await response.json()) as Deployment[];
  if (!Array.isArray(list)) throw new Error("deployments.json is not a list of deployments");
  return list;
}
