/**
 * Revoking in privacy mode. The main account revokes its own consents with its own transactions (it names only
 * itself); "revoke everything" is one `revokeAll` from it, which also cancels its unsubmitted signatures. A
 * pseudonym never sends a transaction: its revocations are signed in the page with its key and submitted by the
 * relayer the patient picks (another wallet, never the connected account), one transaction each, or handed to the
 * provider the pseudonym belongs to, as a file of its own.
 */
import { BrowserProvider, getAddress } from "ethers";

import { field, h, replace, section, select } from "../dom";
import { fileNameOf, handoff, positions } from "../handoff";
import { connect, submitRevocations, type PatientPrivacy, type SignedRevoke } from "../sdk";
import type { Session } from "../session";
import { attempt, runTx } from "../tx";
import { moment, shortHex } from "../words";

/** How long signed revocations may wait for the relayer, which submits them at once. */
const RELAYED_LIFETIME = 3_600;
/** How long signed revocations handed to a provider may wait: until its next visit, say. */
const HANDED_LIFETIME = 7 * 86_400;

/** A permit in force or pending, to revoke. */
export interface LivePermit {
  account: string;
  /** For a pseudonym: the provider (stable id) it belongs to. */
  providerId?: string;
  grantee: string;
  category: string;
  /** The consent in words, for the transaction's label. */
  words: string;
}

interface Handed {
  account: string;
  forWhom: string;
  deadline: number;
  signed: SignedRevoke[];
}

/** Signed revocations handed to providers in this page, per patient account, until the page is closed. */
const handedHere = new Map<string, Handed[]>();

export interface Revoker {
  /** The relayer's section. */
  relayer: HTMLElement;
  /** The signed revocations waiting to be handed to providers (empty when none). */
  handed: HTMLElement;
  /** Who submits the pseudonyms' revocations, in words. */
  describe(): string;
  /**
   * Revokes `permits`: the main account's with its own transactions (`everything`: one revokeAll), the pseudonyms'
   * signed here and submitted by the relayer, or handed to their providers. Redraws the view when anything changed.
   */
  revoke(permits: LivePermit[], status: HTMLElement, options?: { everything?: boolean }): Promise<void>;
}

export function revoker(session: Session, privacy: PatientPrivacy): Revoker {
  const { client, chainId, directory } = session;
  const relayer = relayerPicker(session);
  const handed = h("div", { "aria-live": "polite" });
  const drawHanded = () => {
    const list = handedHere.get(session.account) ?? [];
    const where = positions(list, (item) => item.forWhom);
    replace(
      handed,
      list.length === 0
        ? null
        : section(
            "Signed revocations to give",
            h(
              "p",
              {},
              "Give each provider its own file (each holds one pseudonym's revocations): it submits them and pays the fee, and learns nothing of your other accounts.",
            ),
            h(
              "ul",
              { class: "signed-list" },
              list.map((item, index) =>
                h(
                  "li",
                  { class: "signed-item" },
                  h(
                    "p",
                    {},
                    `${item.signed.length} signed revocation${item.signed.length === 1 ? "" : "s"} of your pseudonym ${shortHex(item.account)}, for ${item.forWhom} to submit until ${moment(item.deadline)}.`,
                  ),
                  handoff(item.signed, {
                    what: "signed revocations",
                    forWhom: item.forWhom,
                    fileName: fileNameOf("signed-revocations", item.forWhom, index + 1),
                    position: where[index],
                  }),
                ),
              ),
            ),
          ),
    );
  };
  drawHanded();

  const revoke = async (permits: LivePermit[], status: HTMLElement, options: { everything?: boolean } = {}) => {
    const main = permits.filter((p) => p.account === privacy.mainAccount);
    const pseudonymous = permits.filter((p) => p.account !== privacy.mainAccount);
    let chosen: Awaited<ReturnType<Relayer["client"]>> = null;
    if (pseudonymous.length > 0) {
      const picked = await attempt(status, () => relayer.client());
      if (picked === undefined) return;
      chosen = picked;
    }
    let changed = false;
    if (options.everything && main.length > 0) {
      // One transaction ends every permit of the main account and cancels its unsubmitted signatures.
      changed =
        (await runTx("Revoke everything of your main account", chainId, () => client.revokeAll(), status)) !==
        undefined;
      if (!changed) return;
    } else {
      for (const p of main) {
        const done = await runTx(`Revoke: ${p.words}`, chainId, () => client.revoke(p.grantee, p.category), status);
        if (!done) return;
        changed = true;
      }
    }
    if (pseudonymous.length > 0) {
      const deadline = (await session.now()) + (chosen ? RELAYED_LIFETIME : HANDED_LIFETIME);
      const signed = await attempt(status, () =>
        Promise.all(
          pseudonymous.map((p) =>
            client.signRevoke(
              { grantee: p.grantee, category: p.category, patient: p.account },
              { deadline, signer: privacy.pseudonym(p.providerId ?? p.grantee) },
            ),
          ),
        ),
      );
      if (!signed) return;
      if (chosen) {
        const relay = chosen;
        const result = await runTx(
          `Revoke ${signed.length} consent${signed.length === 1 ? "" : "s"} of your pseudonyms, submitted by ${relay.name}, one transaction each`,
          chainId,
          () => submitRevocations(relay.client, signed),
          status,
        );
        if (!result) return;
        changed = changed || result.submitted.length > 0;
        if (result.skipped.length > 0) {
          status.classList.add("error");
          // No redraw, so that this stays in view: the list above is from before (open the tab again to read it anew).
          status.textContent =
            `${result.submitted.length} revoked; not revoked: ` +
            `${result.skipped.map((s) => `${directory.name(s.signed.request.grantee)} (${s.reason})`).join("; ")}. ` +
            "Open the tab again to see the consents as they are now.";
          return;
        }
      } else {
        const byAccount = new Map<string, SignedRevoke[]>();
        for (const s of signed) byAccount.set(s.request.patient, [...(byAccount.get(s.request.patient) ?? []), s]);
        const list = handedHere.get(session.account) ?? [];
        for (const [account, items] of byAccount) {
          const permit = pseudonymous.find((p) => getAddress(p.account) === getAddress(account));
          const forWhom = directory.name(permit?.providerId ?? items[0].request.grantee);
          list.push({ account, forWhom, deadline, signed: items });
        }
        handedHere.set(session.account, list);
        drawHanded();
        if (!changed) {
          status.textContent = `Signed: give each provider its file, under "Signed revocations to give".`;
          return;
        }
      }
    }
    if (changed) await session.refresh();
  };

  return { relayer: relayer.element, handed, describe: relayer.describe, revoke };
}

/** Who submits and pays for a pseudonym's revocations: another wallet of the page, or nobody (files). */
interface Relayer {
  element: HTMLElement;
  /** Who submits, in words: the relayer wallet's name, or "each provider". */
  describe(): string;
  /** The relayer's client, or null when there is none (each provider gets its own file). */
  client(): Promise<{ client: ReturnType<typeof connect>; name: string } | null>;
}

function relayerPicker(session: Session): Relayer {
  const others = session.wallets().filter((w) => w.info.uuid !== session.wallet.info.uuid);
  const choice = select(
    [
      ["", "No relayer: give each provider its own signed revocations"],
      ...others.map((w): [string, string] => [w.info.uuid, w.info.name]),
    ],
    { name: "relayer" },
  );
  const element = section(
    "Relayer for your pseudonyms",
    h(
      "p",
      {},
      "A pseudonym never sends a transaction: its revocations are signed here and submitted by someone else, who pays the fee. " +
        "Choose a wallet whose account has nothing to do with yours (not funded by you), or give each provider its own file.",
    ),
    field("Who submits the revocations", choice),
  );
  const describe = () =>
    choice.value ? (others.find((w) => w.info.uuid === choice.value)?.info.name ?? "the relayer") : "each provider";
  const client = async () => {
    const wallet = others.find((w) => w.info.uuid === choice.value);
    if (!wallet) return null;
    const accounts = (await wallet.provider.request({ method: "eth_requestAccounts" })) as string[];
    if (!accounts?.length) throw new Error(`${wallet.info.name} gave no account`);
    const relayerAccount = getAddress(accounts[0]);
    if (relayerAccount === getAddress(session.account))
      throw new Error(
        `${wallet.info.name} is on your own account: a transaction from it naming a pseudonym would link the two. Choose another relayer`,
      );
    const chain = Number(await wallet.provider.request({ method: "eth_chainId" }));
    if (chain !== session.chainId)
      throw new Error(`${wallet.info.name} is on chain ${chain}, not ${session.chainId}: switch it first`);
    const signer = await new BrowserProvider(wallet.provider, chain, { staticNetwork: true }).getSigner(relayerAccount);
    return { client: connect(signer, session.deployment), name: `${wallet.info.name} (${shortHex(relayerAccount)})` };
  };
  return { element, describe, client };
}
