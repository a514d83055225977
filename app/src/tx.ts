/**
 * Every transaction the portal sends is shown in the activity list: pending (waiting for the wallet and the chain),
 * confirmed (with a link to the transaction on known explorers) or failed (with the SDK's sentence).
 */
import { h, replace } from "./dom";
import { chainName, explorerTx } from "./deployments";
import { decodeError } from "./sdk";

let activity: HTMLElement | undefined;

let activityAccount: string | undefined;

/** The list transactions are shown in (created once, in the page's header). */
export function activityList(): HTMLElement {
  activity ??= h("ol", { class: "activity", "aria-live": "polite", "aria-label": "Transactions" });
  return activity;
}

/**
 * Starts a fresh list when another account connects: the transactions shown are the connected account's (a
 * guardian switching from their own account must not read the patient's "your" sentences as theirs).
 */
export function activityFor(account: string): void {
  if (activityAccount !== undefined && activityAccount !== account) activityList().replaceChildren();
  activityAccount = account;
}

/** A person's sentence for any error: the SDK's decoded refusal, a declined wallet prompt, or the message. */
export function errorText(error: unknown): string {
  const e = error as { code?: unknown; info?: { error?: { code?: unknown } }; shortMessage?: string; message?: string };
  if (e?.code === "ACTION_REJECTED" || e?.code === 4001 || e?.info?.error?.code === 4001) {
    return "You declined the request in your wallet.";
  }
  if (e?.code === 4902)
    return "Your wallet does not know this chain yet: add it in the wallet's network settings, then switch again.";
  const decoded = decodeError(error);
  if (decoded.decoded) return decoded.message;
  return e?.shortMessage ?? e?.message ?? String(error);
}

interface HasHash {
  hash: string;
  blockNumber?: number;
}

function receiptOf(result: unknown): HasHash | undefined {
  if (result && typeof result === "object") {
    if ("hash" in result && typeof (result as HasHash).hash === "string") return result as HasHash;
    if ("receipt" in result) return receiptOf((result as { receipt: unknown }).receipt);
  }
  return undefined;
}

/**
 * Runs `send` (which returns a receipt, or an object with one) and shows it in the activity list and in `status`
 * (a form's own status line). Returns the result, or undefined when it failed.
 */
export async function runTx<T>(
  label: string,
  chainId: number,
  send: () => Promise<T>,
  status?: HTMLElement,
): Promise<T | undefined> {
  status?.classList.remove("error");
  const item = h("li", { class: "pending" }, `${label}: pending — confirm in your wallet, then wait for the chain…`);
  activityList().prepend(item);
  if (status) replace(status, `${label}: pending…`);
  try {
    const result = await send();
    const receipt = receiptOf(result);
    const link = receipt ? explorerTx(chainId, receipt.hash) : undefined;
    const where = receipt?.blockNumber ? ` in block ${receipt.blockNumber}` : "";
    item.className = "confirmed";
    replace(
      item,
      `${label}: confirmed${where}. `,
      receipt
        ? link
          ? h("a", { href: link, target: "_blank", rel: "noopener" }, `View on the ${chainName(chainId)} explorer`)
          : h("span", { class: "hash" }, `Transaction ${receipt.hash}`)
        : null,
    );
    if (status) replace(status, `${label}: confirmed.`);
    return result;
  } catch (error) {
    const text = errorText(error);
    item.className = "failed";
    replace(item, `${label}: failed. ${text}`);
    if (status) {
      status.classList.add("error");
      replace(status, `${label} failed: ${text}`);
    }
    return undefined;
  }
}

/** Runs a read or a local step, showing its failure in `status`. */
export async function attempt<T>(status: HTMLElement, run: () => Promise<T>): Promise<T | undefined> {
  status.classList.remove("error");
  try {
    return await run();
  } catch (error) {
    status.classList.add("error");
    replace(status, errorText(error));
    return undefined;
  }
}
