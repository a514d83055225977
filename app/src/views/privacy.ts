/**
 * The patient's privacy mode (docs/privacy.md): every consent of the main account and of every pseudonym, named by
 * recomputing the private ids, each revocable; revoking everything across every relationship as one action, submitted
 * by a relayer one transaction at a time (or handed to each provider). Giving private consents is privacy-give.ts;
 * accesses, records, salts and encrypted records privacy-records.ts; turning the mode on privacy-setup.ts.
 */
import { BrowserProvider, getAddress } from "ethers";

import { field, h, replace, section, select, sentence, statusLine } from "../dom";
import { fileNameOf, handoff } from "../handoff";
import {
  ConsentStatus,
  Decision,
  categoryId,
  connect,
  submitRevocations,
  type PatientPrivacy,
  type SignedRevoke,
} from "../sdk";
import type { Session } from "../session";
import { attempt, runTx } from "../tx";
import { consentParts, consentSentence, shortHex, statusWord } from "../words";
import { confirmable } from "./patient";
import { giveSection } from "./privacy-give";
import { UNNAMED, activitySection, openSection, privateWords, verifySection } from "./privacy-records";
import { closePrivacy, privacyOf, privacySetup } from "./privacy-setup";

/** How long signed revocations may wait for their relayer. */
const REVOCATION_LIFETIME = 3_600;

export async function privacyView(session: Session): Promise<HTMLElement> {
  const privacy = privacyOf(session);
  return privacy ? privacyOn(session, privacy) : privacySetup(session);
}

async function privacyOn(session: Session, privacy: PatientPrivacy): Promise<HTMLElement> {
  const { client, directory, chainId } = session;
  const listing = await privacy.list();
  const name = (address: string) => directory.name(address);
  const accountWords = (account: string) => {
    const found = listing.accounts.find((a) => a.account === getAddress(account));
    return found?.kind === "pseudonym" && found.providerId
      ? `your pseudonym towards ${name(found.providerId)} (${shortHex(found.account)})`
      : "your main account";
  };
  const relayer = relayerPicker(session);

  /** Submits signed revocations with the relayer, or hands each clinic its own when there is none. */
  const deliver = async (signed: SignedRevoke[], status: HTMLElement, host: HTMLElement) => {
    const chosen = await attempt(status, () => relayer.client());
    if (chosen === undefined) return;
    if (chosen === null) {
      const byGrantee = new Map<string, SignedRevoke[]>();
      for (const s of signed) byGrantee.set(s.request.grantee, [...(byGrantee.get(s.request.grantee) ?? []), s]);
      replace(
        host,
        h(
          "p",
          {},
          "Give each provider its own file: it submits its revocations, and learns nothing of your other accounts.",
        ),
        h(
          "ul",
          { class: "signed-list" },
          [...byGrantee].map(([grantee, list]) =>
            h(
              "li",
              { class: "signed-item" },
              h("p", {}, `${list.length} signed revocation${list.length === 1 ? "" : "s"} for ${name(grantee)}.`),
              handoff(list, {
                what: "signed revocations",
                forWhom: name(grantee),
                fileName: fileNameOf("signed-revocations", name(grantee)),
              }),
            ),
          ),
        ),
      );
      status.textContent = `Signed ${signed.length} revocation${signed.length === 1 ? "" : "s"}: give the files below to the providers (or choose a relayer and try again).`;
      return;
    }
    const result = await runTx(
      `Revoke ${signed.length} private consent${signed.length === 1 ? "" : "s"}, submitted by ${chosen.name}, one transaction each`,
      chainId,
      () => submitRevocations(chosen.client, signed),
      status,
    );
    if (!result) return;
    replace(
      host,
      result.skipped.length === 0
        ? null
        : h(
            "ul",
            { class: "error" },
            result.skipped.map((s) => h("li", {}, `Not revoked (${name(s.signed.request.grantee)}): ${s.reason}`)),
          ),
    );
    status.textContent = `${result.submitted.length} revoked, each in its own transaction paid by ${chosen.name}; ${result.skipped.length} not revoked.`;
    await session.refresh();
  };

  // --- Consents ---
  const listStatus = statusLine();
  const listHost = h("div", { "aria-live": "polite" });
  const consents = listing.consents
    .filter((c) => c.status !== ConsentStatus.None)
    .sort((a, b) => b.consent.issuedAt - a.consent.issuedAt);
  const consentList =
    consents.length === 0
      ? h("p", {}, "No private consent yet.")
      : h(
          "ul",
          { class: "consents" },
          consents.map((c) => {
            const provider = name(c.grantee);
            const live =
              c.consent.decision === Decision.Permit &&
              (c.status === ConsentStatus.Active || c.status === ConsentStatus.Pending);
            const pseudonym = c.accountKind === "pseudonym";
            const parts = consentParts(provider, c.categoryCode ?? UNNAMED, c.consent, c.status);
            return h(
              "li",
              { class: `consent status-${statusWord(c.status)}` },
              h(
                "span",
                { class: "sentence" },
                sentence(parts),
                ", ",
                `as ${accountWords(c.account)}.`,
                // A consent given in the plain view: its category id is public.
                c.categoryCode && c.category === categoryId(c.categoryCode)
                  ? " Its category is public on the chain."
                  : "",
              ),
              " ",
              h("span", { class: "badge" }, statusWord(c.status)),
              live
                ? confirmable(
                    "Revoke",
                    () =>
                      pseudonym
                        ? `Revoke this consent? This page signs the revocation with your pseudonym; ${relayer.describe()} submits it.`
                        : `Revoke this consent? ${provider} will no longer be able to see your ${privateWords(c)}. You send it and pay the fee.`,
                    "Yes, revoke",
                    async () => {
                      if (pseudonym) {
                        const found = listing.accounts.find((a) => a.account === c.account);
                        const signed = await attempt(listStatus, () =>
                          client.signRevoke(
                            { grantee: c.grantee, category: c.category, patient: c.account },
                            {
                              deadline: listing.timestamp + REVOCATION_LIFETIME,
                              signer: privacy.pseudonym(found?.providerId ?? c.grantee),
                            },
                          ),
                        );
                        if (signed) await deliver([signed], listStatus, listHost);
                        return;
                      }
                      const done = await runTx(
                        `Revoke: ${consentSentence(provider, c.categoryCode ?? UNNAMED, c.consent)}`,
                        chainId,
                        () => client.revoke(c.grantee, c.category),
                        listStatus,
                      );
                      if (done) await session.refresh();
                    },
                  )
                : null,
            );
          }),
        );

  return h(
    "div",
    { class: "privacy" },
    section(
      "Privacy mode is on",
      h(
        "p",
        {},
        "Your secret is in this page's memory only. You appear to each registered provider under its own pseudonym, found again from your wallet alone:",
      ),
      h(
        "ul",
        { class: "pseudonyms" },
        listing.accounts.map((a) =>
          h(
            "li",
            {},
            a.kind === "main"
              ? ["Your main account: ", h("code", {}, a.account)]
              : [`Towards ${name(a.providerId ?? a.account)}: `, h("code", {}, a.account)],
          ),
        ),
      ),
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            closePrivacy(session);
            await session.refresh();
          },
        },
        "Turn privacy mode off in this page (forget the secret)",
      ),
    ),
    section(
      "Your private consents",
      h(
        "p",
        {},
        `Named from your secret: the chain shows only ids that mean nothing without it. Consents given in the plain view are listed too, marked public. Read at block ${listing.block}.`,
      ),
      consentList,
      listStatus,
      listHost,
    ),
    await giveSection(session, privacy),
    relayer.element,
    revokeEverything(session, privacy, relayer, deliver),
    activitySection(listing, name, accountWords),
    verifySection(session),
    openSection(session, privacy, listing),
  );
}

/** Revoking everything across every relationship, as one action: signed revocations a relayer submits one by one. */
function revokeEverything(
  s: Session,
  p: PatientPrivacy,
  relayer: Relayer,
  send: (signed: SignedRevoke[], status: HTMLElement, host: HTMLElement) => Promise<void>,
): HTMLElement {
  const status = statusLine();
  const host = h("div", { "aria-live": "polite" });
  return section(
    "Revoke everything, across every relationship",
    confirmable(
      "Revoke everything, across every relationship",
      () =>
        "This revokes every consent in force or waiting, of your main account and of every pseudonym. Your wallet signs the main account's revocations and this page signs the pseudonyms' ones; " +
        `${relayer.describe()} submits each in its own transaction, so no transaction names two of your accounts. ` +
        "A consent a pseudonym signed that no clinic has submitted yet cannot be cancelled without linking: it lapses at its deadline (one day at most).",
      "Yes, revoke everything",
      async () => {
        status.textContent = "Signing the revocations (your wallet asks for the main account's)…";
        const signed = await attempt(status, async () =>
          p.signRevocationsOfEverything({ deadline: (await s.now()) + REVOCATION_LIFETIME }),
        );
        if (!signed) return;
        if (signed.length === 0) {
          status.textContent = "Nothing to revoke: no private consent is in force or waiting.";
          return;
        }
        await send(signed, status, host);
      },
      true,
    ),
    status,
    host,
  );
}
/** Who submits and pays for signed revocations: another wallet of the page, or nobody (files for each clinic). */
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
