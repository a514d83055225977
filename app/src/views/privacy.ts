/**
 * The patient's privacy mode (docs/privacy.md): every consent, access, record and break-glass window of the main
 * account and of every pseudonym, named by recomputing the private ids; private consents signed for a clinic (file,
 * QR and text carry the clinic's relationship key) or granted from the main account (with a receipt for the clinic);
 * revoking everything across every relationship as one action, submitted by a relayer one transaction at a time;
 * checking a record with its salt, and opening a record encrypted to a pseudonym.
 */
import { BrowserProvider, getAddress } from "ethers";

import { download, field, fileBytes, h, replace, section, select, sentence, statusLine } from "../dom";
import { fileNameOf, handoff } from "../handoff";
import {
  ConsentStatus,
  Decision,
  PURPOSE_DISPLAY,
  categoryId,
  connect,
  decryptForGrantee,
  parseRecordSalt,
  submitRevocations,
  verifySaltedFile,
  type ConsentReceipt,
  type PatientPrivacy,
  type PrivateListing,
  type PrivateSignedGrant,
  type SignedRevoke,
} from "../sdk";
import type { Session } from "../session";
import { attempt, runTx } from "../tx";
import {
  actionWords,
  categoryWords,
  consentParts,
  consentSentence,
  day,
  moment,
  purposeWords,
  shortHex,
  statusWord,
  termsSentence,
} from "../words";
import { confirmable, signedState } from "./patient";
import { consentForm } from "./consent-form";
import { PAST } from "./history";
import { dropZone } from "./records";
import { closePrivacy, privacyOf, privacySetup } from "./privacy-setup";

/** How long a privacy-mode signature may wait to be submitted: short, since a pseudonym cannot cancel it. */
const SIGNATURE_LIFETIME = 86_400;
/** How long signed revocations may wait for their relayer. */
const REVOCATION_LIFETIME = 3_600;

/** Private consents signed and receipts made in this page, per patient account, until the page is closed. */
const signedHere = new Map<string, PrivateSignedGrant[]>();
const receiptsHere = new Map<string, ConsentReceipt[]>();

export async function privacyView(session: Session): Promise<HTMLElement> {
  const privacy = privacyOf(session);
  return privacy ? privacyOn(session, privacy) : privacySetup(session);
}

/** What an id no known code gives is called (categoryWords leaves words that are no code or id as they are). */
const UNNAMED = "records of a private category you do not name";

/** The words of a listed category: its name when known. */
function privateWords(entry: { categoryCode?: string }): string {
  return categoryWords(entry.categoryCode ?? UNNAMED);
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

/** "Give a private consent": signed for the clinic (through a pseudonym or not), or granted from the main account. */
async function giveSection(session: Session, privacy: PatientPrivacy): Promise<HTMLElement> {
  const { directory, chainId, account } = session;
  const form = consentForm(session);
  const pseudonym = h("input", { type: "checkbox", name: "pseudonym", checked: true });
  pseudonym.id = "privacy-pseudonym";
  const status = statusLine();
  const signedHost = h("div", { class: "signed" });
  const read = async () => {
    const chainNow = await session.now();
    const p = form.read(Math.max(chainNow, Math.floor(Date.now() / 1000)));
    const { providerName, ...params } = p;
    return { chainNow, providerName, params: { ...params, category: String(p.category) } };
  };
  const draw = async () => {
    const signed = signedHere.get(account) ?? [];
    const receipts = receiptsHere.get(account) ?? [];
    const states = await Promise.all(signed.map((s) => signedState(session, s)));
    replace(
      signedHost,
      signed.length === 0
        ? null
        : [
            h("h3", {}, "Signed for clinics"),
            h(
              "ul",
              { class: "signed-list" },
              signed.map((s, index) => {
                const provider = directory.name(s.request.grantee);
                return h(
                  "li",
                  { class: "signed-item" },
                  h(
                    "p",
                    {},
                    `${termsSentence(provider, s.categoryCode, s.request)}, `,
                    getAddress(s.request.patient) === getAddress(account)
                      ? "from your main account. "
                      : `as your pseudonym ${shortHex(s.request.patient)}. `,
                    `${provider} can submit it until ${moment(Number(s.deadline))}. It holds the key of your private categories with ${provider}: give it to ${provider} only. `,
                    h("span", { class: "badge" }, states[index]),
                  ),
                  handoff(s, {
                    what: "private signed consent",
                    forWhom: provider,
                    fileName: fileNameOf("private-consent", provider, index + 1),
                  }),
                );
              }),
            ),
          ],
      receipts.length === 0
        ? null
        : [
            h("h3", {}, "Receipts for clinics"),
            h(
              "ul",
              { class: "signed-list" },
              receipts.map((r, index) => {
                const provider = directory.name(r.relationship.grantee);
                return h(
                  "li",
                  { class: "signed-item" },
                  h(
                    "p",
                    {},
                    `Your consent to ${provider} for ${categoryWords(r.categoryCode)}. ${provider} needs this receipt to name the category: give it to ${provider} only.`,
                  ),
                  handoff(r, {
                    what: "consent receipt",
                    forWhom: provider,
                    fileName: fileNameOf("consent-receipt", provider, index + 1),
                  }),
                );
              }),
            ),
          ],
    );
  };
  const sign = async () => {
    const read1 = await attempt(status, read);
    if (!read1) return;
    const { chainNow, providerName, params } = read1;
    status.textContent = pseudonym.checked
      ? `Signing with your pseudonym towards ${providerName} (no wallet prompt, no fee)…`
      : `Signing for ${providerName}: confirm in your wallet (no fee)…`;
    const signed = await attempt(status, () =>
      privacy.signGrant(params, {
        deadline: Math.min(Number(params.expiresAt), chainNow + SIGNATURE_LIFETIME),
        pseudonym: pseudonym.checked,
      }),
    );
    if (!signed) return;
    signedHere.set(account, [...(signedHere.get(account) ?? []), signed]);
    status.textContent = `Signed for ${providerName}. Give ${providerName} the file or the QR code below.`;
    await draw();
  };
  const grant = async () => {
    const read1 = await attempt(status, async () => {
      if (pseudonym.checked)
        throw new Error(
          "A pseudonym never sends a transaction (paying its fee would link it to you): sign for the clinic instead, or untick the pseudonym to grant from your main account",
        );
      return read();
    });
    if (!read1) return;
    const { providerName, params } = read1;
    const result = await runTx(
      `Grant privately: ${providerName} may ${actionWords(Number(params.actions))} your ${categoryWords(params.category)} for ${purposeWords(Number(params.purposes))}`,
      chainId,
      () => privacy.grant(params),
      status,
    );
    if (!result) return;
    receiptsHere.set(account, [...(receiptsHere.get(account) ?? []), result.consentReceipt]);
    await session.refresh();
  };
  await draw();
  return section(
    "Give a private consent",
    form.element,
    h(
      "div",
      { class: "field" },
      h(
        "label",
        { for: pseudonym.id },
        pseudonym,
        " Through my pseudonym towards this provider (recommended: nothing on the chain links it to you)",
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        { type: "button", class: "primary", onclick: () => void sign() },
        "Sign privately for the clinic to submit (no fee)",
      ),
      " ",
      h(
        "button",
        { type: "button", onclick: () => void grant() },
        "Grant privately from my main account (you pay the fee)",
      ),
    ),
    h(
      "p",
      { class: "hint" },
      "A signed consent through a pseudonym is submitted by the clinic, which pays. It can be submitted for one day at most.",
    ),
    status,
    signedHost,
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

/** Accesses, records and break-glass windows of every account, by name. */
function activitySection(
  listing: PrivateListing,
  name: (address: string) => string,
  accountWords: (account: string) => string,
): HTMLElement {
  const empty = (text: string) => h("p", {}, text);
  return section(
    "Accesses, records and emergency access, by name",
    h("h3", {}, "Accesses"),
    listing.accesses.length === 0
      ? empty("No access recorded.")
      : h(
          "ul",
          { class: "history" },
          listing.accesses.map((a) =>
            h(
              "li",
              {},
              `${name(a.grantee)} ${PAST[a.action] ?? a.action} your ${privateWords(a)} for ${PURPOSE_DISPLAY[a.purpose]}, as ${accountWords(a.account)} (block ${a.blockNumber}).`,
            ),
          ),
        ),
    h("h3", {}, "Records"),
    listing.records.length === 0
      ? empty("No record anchored.")
      : h(
          "ul",
          { class: "records" },
          listing.records.map((r) =>
            h(
              "li",
              {},
              `${privateWords(r).replace(/^./, (c) => c.toUpperCase())}: a record anchored by ${name(r.anchoredBy)} for ${accountWords(r.account)} (block ${r.blockNumber}), fingerprint ${shortHex(r.contentHash)}, ${["none", "active", "superseded", "retracted"][r.status] ?? "unknown"}.`,
              r.uri ? [" Kept at ", h("code", {}, r.uri), "."] : null,
            ),
          ),
        ),
    h("h3", {}, "Emergency access (break-glass)"),
    listing.emergencies.length === 0
      ? empty("No emergency access was opened.")
      : h(
          "ul",
          { class: "history" },
          listing.emergencies.map((e) =>
            h(
              "li",
              {},
              `${name(e.provider)} opened emergency access on ${accountWords(e.account)}, from ${moment(e.openedAt)} until ${moment(e.expiresAt)}.`,
            ),
          ),
        ),
  );
}

/** Checks a copy of a record against its salt file. */
function verifySection(session: Session): HTMLElement {
  const result = h("p", { class: "verify-result", role: "status", "aria-live": "polite" });
  let file: File | undefined;
  let saltText: string | undefined;
  const check = async () => {
    result.className = "verify-result";
    const answer = await attempt(result, async () => {
      if (!file) throw new Error("Choose the record's file first");
      if (!saltText) throw new Error("Choose the record's salt file first");
      let salt: ReturnType<typeof parseRecordSalt>;
      try {
        salt = parseRecordSalt(saltText);
      } catch {
        throw new Error("The salt file is not a record salt (a file of kind consent-anchor/record-salt)");
      }
      const found = await verifySaltedFile(session.client.records, salt.patient, await fileBytes(file), salt.salt);
      return found.anchored
        ? {
            ok: true,
            text: `Yes: ${file.name} with this salt is the record anchored on ${day(found.anchoredAt)} for ${shortHex(salt.patient)} (${["none", "active", "superseded", "retracted"][found.status]}).`,
          }
        : {
            ok: false,
            text: `No: ${file.name} with this salt is not a record anchored for ${shortHex(salt.patient)}.`,
          };
    });
    if (!answer) return;
    result.className = `verify-result ${answer.ok ? "ok" : "error"}`;
    result.textContent = answer.text;
  };
  return section(
    "Verify a private record with its salt",
    h(
      "p",
      {},
      "A private record's fingerprint is keyed with a salt that travels with the file: the file alone proves nothing to a guesser.",
    ),
    dropZone("Record file to verify", (f) => {
      file = f;
      void check();
    }),
    dropZone("Its salt file", async (f) => {
      saltText = new TextDecoder().decode(await fileBytes(f));
      if (file) void check();
    }),
    h("button", { type: "button", onclick: () => void check() }, "Verify"),
    result,
  );
}

/** Opens a record a clinic encrypted to one of the pseudonyms (their keys are derived here; nothing is sent). */
function openSection(session: Session, privacy: PatientPrivacy, listing: PrivateListing): HTMLElement {
  const status = statusLine();
  return section(
    "Open a record encrypted to you",
    h(
      "p",
      {},
      "A clinic encrypts the files it keeps for a pseudonym to that pseudonym. Open one here: it is decrypted in your browser.",
    ),
    dropZone("Encrypted record", async (file) => {
      const opened = await attempt(status, async () => {
        const bytes = await fileBytes(file);
        for (const a of listing.accounts) {
          if (!a.providerId) continue;
          try {
            return {
              plain: decryptForGrantee(privacy.pseudonym(a.providerId).privateKey, bytes),
              towards: a.providerId,
            };
          } catch {
            // not encrypted to this pseudonym
          }
        }
        throw new Error(
          `${file.name} is not encrypted to any of your pseudonyms (a file encrypted to your main account opens in a wallet that decrypts, not here)`,
        );
      });
      if (!opened) return;
      const plainName = file.name.replace(/\.(ecies|enc)$/i, "") || "record";
      download(plainName, opened.plain, "application/octet-stream");
      status.textContent = `Opened ${file.name}: encrypted to your pseudonym towards ${session.directory.name(opened.towards)}. Saved as ${plainName}.`;
    }),
    status,
  );
}
