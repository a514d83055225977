/**
 * provider:* tasks: a registrar registers and suspends providers in the provider registry.
 */
import { task } from "hardhat/config";

import { Capability } from "../src/codes";
import { formatReceipt } from "../scripts/lib/format";
import { UserError, cliAction, parseAddress, required, taskContext } from "./cli";

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

interface RegisterArgs {
  from?: string;
  provider?: string;
  identifier?: string;
  capabilities?: string;
  metadataUri?: string;
}

task("provider:register", "Registers a provider (the registrar signs, --from)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("provider", "The provider's address (required)")
  .addOptionalParam(
    "identifier",
    `An external identifier such as "npi:1234567890", hashed before it is sent (required)`,
  )
  .addOptionalParam("capabilities", `Comma-separated: ${CAPABILITY_NAMES.join(", ")}`, "treatment")
  .addOptionalParam("metadataUri", "A URI of public metadata about the provider", "")
  .setAction(
    cliAction(async (args: RegisterArgs, hre) => {
      const provider = parseAddress(args.provider, "provider");
      const identifier = required(args.identifier, "identifier", `give an identifier such as "npi:1234567890"`);
      const capabilities = parseCapabilities(args.capabilities);
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.registerProvider(provider, identifier, capabilities, args.metadataUri ?? "");
      const names = CAPABILITY_NAMES.filter(
        (name) => (capabilities & (Capability as Record<string, number>)[name.toUpperCase()]) !== 0,
      );
      console.log(`Registrar ${from} registered provider ${provider} (${names.join(", ")})`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );

task("provider:suspend", "Suspends a provider: its consents authorise nothing until reinstated (--from registrar)")
  .addOptionalParam("from", FROM)
  .addOptionalParam("provider", "The provider's address (required)")
  .addOptionalParam("reason", "Why; only its hash goes on-chain (required)")
  .setAction(
    cliAction(async (args: { from?: string; provider?: string; reason?: string }, hre) => {
      const provider = parseAddress(args.provider, "provider");
      const reason = required(args.reason, "reason", "say why the provider is suspended (only its hash is sent)");
      const { client, from } = await taskContext(hre, { from: args.from, sign: true });
      const receipt = await client.suspendProvider(provider, reason);
      console.log(`Registrar ${from} suspended provider ${provider}`);
      console.log(`  ${formatReceipt(receipt)}`);
    }),
  );
