/**
 * The provider directory as the portal shows it: every registered provider with its name, status and
 * capabilities. Names come from the `metadataURI` the registrar gave at registration (emitted, not stored): a
 * `data:application/json,{"name":"City Clinic"}` URI (URL-encoded or base64), or `data:text/plain,City Clinic`.
 * A provider without a readable name is shown by its address.
 */
import { getAddress } from "ethers";

import { Capability, ProviderStatus, getLogsPaged, type ConsentClient } from "./sdk";
import { shortHex } from "./words";

export interface ProviderEntry {
  id: string;
  name: string;
  status: ProviderStatus;
  capabilities: number;
}

/** The name in a provider's metadata URI, if it has one. */
export function nameFromMetadata(uri: string): string | undefined {
  const match = /^data:([^,;]*)(;base64)?,(.*)$/s.exec(uri.trim());
  if (!match) return undefined;
  try {
    const body = match[2] ? atob(match[3]) : decodeURIComponent(match[3]);
    if (match[1] === "application/json") {
      const name = (JSON.parse(body) as { name?: unknown }).name;
      return typeof name === "string" && name.trim() ? name.trim() : undefined;
    }
    return body.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The metadata URI that names a provider, as `npm run app` registers its demo clinics. */
export function metadataForName(name: string): string {
  return `data:application/json,${encodeURIComponent(JSON.stringify({ name }))}`;
}

export class Directory {
  private readonly entries = new Map<string, ProviderEntry>();

  constructor(private readonly client: ConsentClient) {}

  /** Reads every registration, then each provider's status. */
  async load(): Promise<void> {
    const { client } = this;
    const event = client.providers.interface.getEvent("ProviderRegistered");
    const provider = client.provider;
    const latest = await provider.getBlockNumber();
    const logs = await getLogsPaged(
      provider,
      { address: client.deployment.providerRegistry, topics: [event.topicHash] },
      client.deployment.deploymentBlock ?? 0,
      latest,
    );
    const named = new Map<string, string>();
    for (const log of logs) {
      const parsed = client.providers.interface.parseLog(log);
      if (!parsed) continue;
      const id = getAddress(parsed.args.provider as string);
      named.set(id, nameFromMetadata(parsed.args.metadataURI as string) ?? shortHex(id));
    }
    const statuses = await Promise.all([...named.keys()].map((id) => client.providerStatus(id)));
    this.entries.clear();
    [...named.entries()].forEach(([id, name], index) => {
      const { status, capabilities } = statuses[index];
      this.entries.set(id, { id, name, status, capabilities });
    });
  }

  /** Every registered provider, by name. */
  list(): ProviderEntry[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(address: string): ProviderEntry | undefined {
    return this.entries.get(getAddress(address));
  }

  /** A provider's name, or a short form of any other address. */
  name(address: string): string {
    return this.entries.get(getAddress(address))?.name ?? shortHex(getAddress(address));
  }
}

export function statusName(status: ProviderStatus): string {
  return ProviderStatus[status].toLowerCase();
}

export function capabilityWords(capabilities: number): string {
  const names: string[] = [];
  if (capabilities & Capability.TREATMENT) names.push("treatment");
  if (capabilities & Capability.EMERGENCY) names.push("emergency care");
  if (capabilities & Capability.RESEARCH) names.push("research");
  return names.join(", ") || "none";
}
