/** What every view needs once a wallet is connected on a chain with a deployment. */
import type { ConsentClient, Deployment } from "./sdk";
import type { Directory } from "./directory";
import type { DiscoveredWallet } from "./wallets";

export interface Session {
  wallet: DiscoveredWallet;
  account: string;
  chainId: number;
  deployment: Deployment;
  client: ConsentClient;
  directory: Directory;
  /** The latest block's time (unix seconds): "now" on the chain. */
  now(): Promise<number>;
  /** Re-reads the chain and redraws the current view. */
  refresh(): Promise<void>;
  /** Every wallet the page has found (EIP-6963), the connected one included: privacy mode picks a relayer here. */
  wallets(): DiscoveredWallet[];
}

/** The delegates of a patient, and the patients an account is a delegate of, from DelegateSet events. */
export async function delegations(
  session: Pick<Session, "client" | "deployment">,
  filter: { patient?: string; delegate?: string },
): Promise<{ patient: string; delegate: string; expiresAt: number }[]> {
  const { consents } = session.client;
  const logs = await consents.queryFilter(
    consents.filters.DelegateSet(filter.patient, filter.delegate),
    session.deployment.deploymentBlock,
  );
  const pairs = new Map<string, { patient: string; delegate: string }>();
  for (const log of logs)
    pairs.set(`${log.args.patient}:${log.args.delegate}`, { patient: log.args.patient, delegate: log.args.delegate });
  const live = await Promise.all(
    [...pairs.values()].map(async (pair) => {
      const [active, expiresAt] = await Promise.all([
        consents.isDelegate(pair.patient, pair.delegate),
        consents.delegateExpiry(pair.patient, pair.delegate),
      ]);
      return active ? { ...pair, expiresAt: Number(expiresAt) } : undefined;
    }),
  );
  return live.filter((entry): entry is { patient: string; delegate: string; expiresAt: number } => entry !== undefined);
}
