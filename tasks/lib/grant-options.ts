/**
 * The terms of a grant as the command line takes them (consent:grant, consent:sign, privacy:sign, privacy:grant), and
 * the check of every option that needs no chain, so that input errors come before connecting.
 */
import {
  parseActions,
  parseAddress,
  parseCategory,
  parseDate,
  parseDurationOption,
  parseNotBefore,
  parsePurposes,
} from "../cli";

/** The options that state a grant's terms. */
export interface GrantTermsArgs {
  grantee?: string;
  category?: string;
  purposes?: string;
  actions?: string;
  duration?: string;
  expires?: string;
  notBefore?: string;
}

/**
 * Checks the grant's options that need no chain (addresses, codes, dates). `checkCategory` reads `--category`: a code
 * or a 0x id by default; privacy mode takes codes only.
 */
export function checkGrantOptions(
  args: GrantTermsArgs,
  checkCategory: (value: string | undefined) => unknown = parseCategory,
): void {
  parseAddress(args.grantee, "grantee");
  checkCategory(args.category);
  parsePurposes(args.purposes);
  parseActions(args.actions);
  parseNotBefore(args.notBefore);
  if (args.expires?.trim()) parseDate(args.expires, "expires");
  if (args.duration?.trim()) parseDurationOption(args.duration, "duration");
}
