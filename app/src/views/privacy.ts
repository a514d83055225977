/**
 * The patient's privacy mode (docs/privacy.md): every consent of the main account and of every pseudonym, named by
 * recomputing the private ids, each revocable, each with its grantee's relationship key as a file; revoking everything
 * across every relationship as one action. Revoking is privacy-revoke.ts; giving private consents privacy-give.ts;
 * accesses, records, salts and encrypted records privacy-records.ts; turning the mode on privacy-setup.ts.
 */
import { getAddress } from "ethers";

import { download, h, section, sentence, statusLine } from "../dom";
import { fileNameOf } from "../handoff";
import { ConsentStatus, categoryId, livePermits, type PatientPrivacy, type PrivateListing } from "../sdk";
import type { Session } from "../session";
import { errorText } from "../tx";
import { consentParts, consentSentence, shortHex, statusWord } from "../words";
import { confirmable } from "./patient";
import { giveSection } from "./privacy-give";
import { revoker, type LivePermit, type Revoker } from "./privacy-revoke";
import { UNNAMED, activitySection, openSection, privateWords, verifySection } from "./privacy-records";
import { closePrivacy, privacyOf, privacySetup } from "./privacy-setup";

export async function privacyView(session: Session): Promise<HTMLElement> {
  const privacy = privacyOf(session);
  return privacy ? privacyOn(session, privacy) : privacySetup(session);
}

async function privacyOn(session: Session, privacy: PatientPrivacy): Promise<HTMLElement> {
  const { directory } = session;
  let listing: PrivateListing;
  try {
    listing = await privacy.list();
  } catch (error) {
    return section(
      "Privacy mode is on",
      h("p", { class: "error", role: "alert" }, `Your consents could not be read: ${errorText(error)}`),
      offButton(session),
    );
  }
  const name = (address: string) => directory.name(address);
  const accountWords = (account: string) => {
    const found = listing.accounts.find((a) => a.account === getAddress(account));
    return found?.kind === "pseudonym" && found.providerId
      ? `your pseudonym towards ${name(found.providerId)} (${shortHex(found.account)})`
      : "your main account";
  };
  const revoking = revoker(session, privacy);
  /** The grantee's relationship key again, as a file (for a clinic that lost it, or a direct grant's lost receipt). */
  const relationshipLink = (grantee: string, account: string) =>
    h(
      "button",
      {
        type: "button",
        class: "small",
        onclick: async () =>
          download(
            fileNameOf("relationship", name(grantee), shortHex(account)),
            JSON.stringify(await privacy.relationship(grantee, account), null, 2),
          ),
      },
      `Relationship file for ${name(grantee)}`,
    );
  const live = new Set(livePermits(listing));
  const permitOf = (c: (typeof listing.consents)[number]): LivePermit => ({
    account: c.account,
    providerId: listing.accounts.find((a) => a.account === c.account)?.providerId,
    grantee: c.grantee,
    category: c.category,
    words: consentSentence(name(c.grantee), c.categoryCode ?? UNNAMED, c.consent),
  });

  // --- Consents ---
  const listStatus = statusLine();
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
              " ",
              relationshipLink(c.grantee, c.account),
              live.has(c)
                ? confirmable(
                    "Revoke",
                    () =>
                      pseudonym
                        ? `Revoke this consent? This page signs the revocation with your pseudonym; ${revoking.describe()} submits it.`
                        : `Revoke this consent? ${provider} will no longer be able to see your ${privateWords(c)}. You send it and pay the fee.`,
                    "Yes, revoke",
                    () => revoking.revoke([permitOf(c)], listStatus),
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
      offButton(session),
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
    ),
    await giveSection(session, privacy),
    revoking.relayer,
    revoking.handed,
    revokeEverything([...live].map(permitOf), revoking),
    activitySection(listing, name, accountWords),
    verifySection(session),
    openSection(session, privacy, listing),
  );
}

/** Revoking everything across every relationship, as one action. */
function revokeEverything(permits: LivePermit[], revoking: Revoker): HTMLElement {
  const status = statusLine();
  return section(
    "Revoke everything, across every relationship",
    confirmable(
      "Revoke everything, across every relationship",
      () =>
        "This revokes every consent in force or waiting, of your main account and of every pseudonym. " +
        "Your main account revokes its own in one transaction (you pay), which also cancels the consents it signed that no clinic has submitted yet. " +
        `This page signs each pseudonym's revocations, and ${revoking.describe()} submits each in its own transaction, so no transaction names two of your accounts. ` +
        "A consent a pseudonym signed that no clinic has submitted yet cannot be cancelled without linking: it lapses at its deadline (one day at most).",
      "Yes, revoke everything",
      async () => {
        if (permits.length === 0) {
          status.textContent = "Nothing to revoke: no consent is in force or waiting.";
          return;
        }
        await revoking.revoke(permits, status, { everything: true });
      },
      true,
    ),
    status,
  );
}

function offButton(session: Session): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      onclick: async () => {
        closePrivacy(session);
        await session.refresh();
      },
    },
    "Turn privacy mode off in this page (forget the secret)",
  );
}
