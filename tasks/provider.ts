/**
 * provider:* tasks: a registrar registers and suspends providers in the provider registry; a provider rotates its
 * key in two steps (the current key proposes, the new key accepts).
 */
import { Capability } from "../src/codes";
import { formatReceipt } from "../scripts/lib/format";
import {
  UserError,
  cliAction,
  cliTask,
  parseAddress,
  receiptJson,
  required,
  taskContext,
  type CommonArgs,
} from "./cli";

const FROM = "The registrar: an index into the network's accounts or one of their addresses (default 0)";
const CAPABILITY_NAMES = Object.keys(Capability).map((name) => name.toLowerCase());

/** "treatment,emergency" -> the capability mask. */
export function parseCapabilities(value: string | undefined): number {
  const names = (value?.trim() ? value : "treatment")
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter((s) => s.length > 0);
  let mask = 0;
  for (const name of names) {
    const bit = (Capability as Record<string, number>)[name];
    if (bit === undefined) {
      throw new UserError(
        `--capabilities: unknown capability "${name.toLowerCase()}": use ${CAPABILITY_NAMES.join(", ")}`,
      );
    }
    mask |= bit;
  }
  if (mask === 0) throw new UserError(`--capabilities: give at least one of ${CAPABILITY_NAMES.join(", ")}`);
  return mask;
}

interface RegisterArgs extends CommonArgs {
  from?: string;
  provider?: string;
  identifier?: string;
  capabilities?: string;
  metadataUri?: string;
}

cliTask("provider:register", "Registers a provider (the registrar signs, --from)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("provider", "The provider's address (required)")
  .addOptionalParam(
    "identifier",
    `An external identifier such as "npi:1234567890", hashed before it is sent (required)`,
  )
  .addOptionalParam("capabilities", `Comma-separated: ${CAPABILITY_NAMES.join(", ")}`, "treatment")
  .addOptionalParam("metadataUri", "A URI of public metadata about the provider", "")
  .setAction(
    cliAction(async (args: RegisterArgs, hre, out) => {
      const provider = parseAddress(args.provider, "provider");
      const identifier = required(args.identifier, "identifier", `give an identifier such as "npi:1234567890"`);
      const capabilities = parseCapabilities(args.capabilities);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.registerProvider(provider, identifier, capabilities, args.metadataUri ?? "");
      const names = CAPABILITY_NAMES.filter(
        (name) => (capabilities & (Capability as Record<string, number>)[name.toUpperCase()]) !== 0,
      );
      out.say(`Registrar ${from} registered provider ${provider} (${names.join(", ")})`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ registrar: from, provider, capabilities: names, ...receiptJson(receipt) });
    }),
  );

cliTask("provider:suspend", "Suspends a provider: its consents authorise nothing until reinstated (--from registrar)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("provider", "The provider's address (required)")
  .addOptionalParam("reason", "Why; only its hash goes on-chain (required)")
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; provider?: string; reason?: string }, hre, out) => {
      const provider = parseAddress(args.provider, "provider");
      const reason = required(args.reason, "reason", "say why the provider is suspended (only its hash is sent)");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.suspendProvider(provider, reason);
      out.say(`Registrar ${from} suspended provider ${provider}`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ registrar: from, provider, status: "suspended", ...receiptJson(receipt) });
    }),
  );

cliTask("provider:reinstate", "Reinstates a suspended provider: its consents authorise again (--from registrar)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("provider", "The provider's address (required)")
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; provider?: string }, hre, out) => {
      const provider = parseAddress(args.provider, "provider");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.reinstateProvider(provider);
      out.say(`Registrar ${from} reinstated provider ${provider}`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ registrar: from, provider, status: "active", ...receiptJson(receipt) });
    }),
  );

cliTask("provider:rotate-key", "Proposes a new key for the provider (--from, its current key): step 1 of 2")
  .addOptionalParam("from", "The provider's current key: an index into the network's accounts or an address")
  .addOptionalParam("newKey", "The fresh address proposed; it completes the rotation with provider:accept-key")
  .addFlag("withdraw", "Withdraw the pending proposal instead")
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; newKey?: string; withdraw?: boolean }, hre, out) => {
      if (args.withdraw && args.newKey?.trim()) throw new UserError("Give either --new-key or --withdraw, not both");
      const newKey = args.withdraw ? undefined : parseAddress(args.newKey, "new-key");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = newKey ? await client.rotateKey(newKey) : await client.withdrawKeyRotation();
      if (newKey) {
        out.say(`Provider ${from} proposed ${newKey} as its next key`);
        out.say(
          `  nothing changes until ${newKey} accepts: npx hardhat provider:accept-key --from <it> --provider ${from}`,
        );
      } else {
        out.say(`Provider ${from} withdrew its key rotation proposal`);
      }
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ provider: from, proposedKey: newKey ?? null, ...receiptJson(receipt) });
    }),
  );

cliTask("provider:accept-key", "Accepts a proposed key rotation, as the proposed key (--from): step 2 of 2")
  .addOptionalParam("from", "The proposed key: an index into the network's accounts or an address")
  .addOptionalParam("provider", "The provider's stable id or any of its keys (required)")
  .setAction(
    cliAction(async (args: CommonArgs & { from?: string; provider?: string }, hre, out) => {
      const provider = parseAddress(args.provider, "provider");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.acceptKey(provider);
      const keys = await client.providerKeys(provider);
      out.say(`${from} is now the key of provider ${keys.id}; ${keys.keys.at(-2)} is retired for good`);
      out.say(`  ${formatReceipt(receipt)}`);
      out.result({ providerId: keys.id, key: from, retired: keys.keys.at(-2), ...receiptJson(receipt) });
    }),
  );

cliTask("provider:keys", "Prints a provider's stable id, current key, former keys and pending proposal")
  .addOptionalParam("provider", "The provider's stable id or any of its keys (required)")
  .setAction(
    cliAction(async (args: CommonArgs & { provider?: string }, hre, out) => {
      const provider = parseAddress(args.provider, "provider");
      const { client } = await taskContext(hre, { sign: false });
      const keys = await client.providerKeys(provider);
      out.say(`provider id ${keys.id}`);
      out.say(`  current key  ${keys.current}`);
      out.say(`  every key    ${keys.keys.join(", ")}`);
      out.say(`  proposed key ${keys.proposed ?? "-"}`);
      out.result({ providerId: keys.id, current: keys.current, keys: keys.keys, proposed: keys.proposed ?? null });
    }),
  );
