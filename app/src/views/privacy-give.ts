/**
 * "Give a private consent" in the patient's privacy mode: signed for the clinic to submit (through the pseudonym
 * towards it, or the main account), the file, QR code and text carrying the clinic's relationship key; or granted
 * from the main account, with the consent receipt the clinic needs to name the category.
 */
import { getAddress } from "ethers";

import { h, replace, section, statusLine } from "../dom";
import { fileNameOf, handoff, positions } from "../handoff";
import { ProviderStatus, type ConsentReceipt, type PatientPrivacy, type PrivateSignedGrant } from "../sdk";
import type { Session } from "../session";
import { attempt, runTx } from "../tx";
import { actionWords, categoryWords, moment, purposeWords, shortHex, termsSentence } from "../words";
import { consentForm } from "./consent-form";
import { signedState } from "./patient";

/** How long a privacy-mode signature may wait to be submitted: short, since a pseudonym cannot cancel it. */
const SIGNATURE_LIFETIME = 86_400;
/** Private consents signed and receipts made in this page, per patient account, until the page is closed. */
const signedHere = new Map<string, PrivateSignedGrant[]>();
const receiptsHere = new Map<string, ConsentReceipt[]>();

/** "Give a private consent": signed for the clinic (through a pseudonym or not), or granted from the main account. */
export async function giveSection(session: Session, privacy: PatientPrivacy): Promise<HTMLElement> {
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
    const where = positions(signed, (s) => s.request.grantee);
    const receiptsWhere = positions(receipts, (r) => r.relationship.grantee);
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
                    position: where[index],
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
                    position: receiptsWhere[index],
                  }),
                );
              }),
            ),
          ],
    );
  };
  const sign = async () => {
    const read1 = await attempt(status, async () => {
      const r = await read();
      // The listing finds pseudonyms again for registered providers only: one towards anyone else would be lost.
      if (pseudonym.checked && (await session.client.providerStatus(r.params.grantee)).status === ProviderStatus.None)
        throw new Error(
          `${r.providerName} is not a registered provider, and pseudonyms are made for registered providers only: untick the pseudonym to sign from your main account`,
        );
      return r;
    });
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
