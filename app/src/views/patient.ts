/** The patient view: consents in sentences, grant, sign for clinics, revoke, deny, delegates, break-glass. */
import { field, h, replace, section, sentence, statusLine, downloadLink } from "../dom";
import { ConsentStatus, Decision, splitSignatureNonce, type SignedGrant } from "../sdk";
import type { Session } from "../session";
import { delegations } from "../session";
import { attempt, runTx } from "../tx";
import {
  categoryWords,
  consentParts,
  consentSentence,
  day,
  duration,
  moment,
  shortHex,
  statusWord,
  actionWords,
  purposeWords,
} from "../words";
import { categorySelect, consentForm, providerSelect } from "./consent-form";
import { historyView } from "./history";
import { qrCode } from "../qr";
import { recordsView } from "./records";

/** Signatures made in this page, per patient, until the page is closed. */
const signed = new Map<string, SignedGrant[]>();

/** An inline "are you sure?" under a button; runs `action` on yes. */
function confirmable(
  label: string,
  question: string,
  yes: string,
  action: () => Promise<void>,
  danger = false,
): HTMLElement {
  const box = h("div", { class: "confirm" });
  const open = () =>
    replace(
      box,
      h("p", { role: "alert", class: danger ? "warning" : "" }, question),
      h("button", { type: "button", class: danger ? "danger" : "", onclick: () => void action() }, yes),
      " ",
      h("button", { type: "button", onclick: close }, "Cancel"),
    );
  const close = () =>
    replace(box, h("button", { type: "button", class: danger ? "danger" : "", onclick: open }, label));
  close();
  return box;
}

/** Whether a signature made here still waits for its clinic, was submitted, or was cancelled since. */
async function signedState(session: Session, s: SignedGrant): Promise<string> {
  const { signatureEpoch, sequence } = await session.client.signatureNonce(
    s.request.patient,
    s.request.grantee,
    s.request.category,
  );
  const given = splitSignatureNonce(s.nonce);
  if (signatureEpoch > given.signatureEpoch) return "cancelled";
  if (sequence > given.sequence) return "submitted (or replaced by a later decision)";
  if (Number(s.deadline) < (await session.now())) return "expired unsubmitted";
  return "waiting to be submitted";
}

export async function patientView(session: Session): Promise<HTMLElement> {
  const { client, account: me, directory, chainId } = session;
  const now = await session.now();
  const tx = <T>(label: string, send: () => Promise<T>, status?: HTMLElement) => runTx(label, chainId, send, status);
  const done = async <T>(result: T | undefined) => {
    if (result !== undefined) await session.refresh();
  };

  // --- Current consents ---
  const consents = (await client.currentConsents(me)).filter((c) => c.status !== ConsentStatus.None);
  consents.sort((a, b) => b.consent.issuedAt - a.consent.issuedAt);
  const listStatus = statusLine();
  const consentList =
    consents.length === 0
      ? h("p", {}, "You have not given anyone a consent yet.")
      : h(
          "ul",
          { class: "consents" },
          consents.map((c) => {
            const name = directory.name(c.grantee);
            const text = consentSentence(name, c.category, c.consent, c.status);
            const live = c.status === ConsentStatus.Active || c.status === ConsentStatus.Pending;
            const deny = c.consent.decision === Decision.Deny;
            return h(
              "li",
              { class: `consent status-${statusWord(c.status)}` },
              h("span", { class: "sentence" }, sentence(consentParts(name, c.category, c.consent, c.status)), "."),
              " ",
              h("span", { class: "badge" }, statusWord(c.status)),
              live || deny
                ? confirmable(
                    deny ? "Lift this deny" : "Revoke",
                    deny
                      ? `Lift the deny? ${name} would again be covered by any consent you give.`
                      : `Revoke this consent? ${name} will no longer be able to see your ${categoryWords(c.category)}.`,
                    deny ? "Yes, lift the deny" : "Yes, revoke",
                    async () =>
                      done(await tx(`Revoke: ${text}`, () => client.revoke(c.grantee, c.category), listStatus)),
                  )
                : null,
            );
          }),
        );

  // --- Grant or sign ---
  const form = consentForm(session);
  const grantStatus = statusLine();
  const signedHost = h("div", { class: "signed" });
  const grant = async () => {
    const p = await attempt(grantStatus, async () =>
      form.read(Math.max(await session.now(), Math.floor(Date.now() / 1000))),
    );
    if (!p) return;
    const sentence = `${p.providerName} may ${actionWords(p.actions as number)} your ${categoryWords(p.category)} for ${purposeWords(p.purposes as number)}`;
    await done(await tx(`Grant: ${sentence}`, () => client.grant(p), grantStatus));
  };
  const sign = async () => {
    const chainNow = await session.now();
    const p = await attempt(grantStatus, async () => form.read(Math.max(chainNow, Math.floor(Date.now() / 1000))));
    if (!p) return;
    grantStatus.textContent = `Signing for ${p.providerName}: confirm in your wallet (no fee)…`;
    const signature = await attempt(grantStatus, () =>
      client.signGrant(p, { deadline: Math.min(Number(p.expiresAt), chainNow + 7 * 86_400) }),
    );
    if (!signature) return;
    signed.set(me, [...(signed.get(me) ?? []), signature]);
    grantStatus.textContent = `Signed for ${p.providerName}. Give the clinic the file or the QR code below.`;
    await drawSigned();
  };
  const drawSigned = async () => {
    const list = signed.get(me) ?? [];
    const states = await Promise.all(list.map((s) => signedState(session, s)));
    replace(
      signedHost,
      list.length === 0
        ? null
        : [
            h("h3", {}, "Signed for clinics"),
            h(
              "ul",
              { class: "signed-list" },
              list.map((s, index) => {
                const name = directory.name(s.request.grantee);
                const json = JSON.stringify(s, null, 2);
                const fileName = `signed-consent-${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${index + 1}.json`;
                const text = h("textarea", { readonly: true, rows: 3, class: "payload" }, JSON.stringify(s));
                return h(
                  "li",
                  { class: "signed-item" },
                  h(
                    "p",
                    {},
                    `${consentSentence(name, s.request.category, { ...s.request, issuedAt: 0, epoch: 0, decision: Decision.Permit, sequence: 0 })}. `,
                    `${name} can submit it until ${moment(Number(s.deadline))}. `,
                    h("span", { class: "badge" }, states[index]),
                  ),
                  downloadLink(fileName, json, `Download the signed consent for ${name}`),
                  qrCode(JSON.stringify(s), `QR code of the signed consent for ${name}`),
                  field(`Signed consent for ${name}, as text to copy`, text),
                );
              }),
            ),
          ],
    );
  };
  await drawSigned();

  // --- Deny ---
  const denyProvider = providerSelect(session, "Provider to deny");
  const denyCategory = categorySelect(true);
  const denyStatus = statusLine();

  // --- Revoke everything ---
  const allStatus = statusLine();
  const revokeAll = confirmable(
    "Revoke everything",
    "This ends every consent you have given, at once. It also cancels every signed consent that a clinic has not submitted yet: they can no longer be used. Your denies, guardians and emergency setting stay.",
    "Yes, revoke everything",
    async () => {
      const result = await tx("Revoke everything", () => client.revokeAll(), allStatus);
      if (result) signed.delete(me);
      await done(result);
    },
    true,
  );

  const lower = await Promise.all([
    delegatesSection(session, now),
    emergencySection(session, now),
    recordsView(session, me),
    historyView(session, me),
  ]);
  return h(
    "div",
    { class: "patient" },
    section("Your consents", h("p", {}, "Who may see what, now and before."), consentList, listStatus),
    section(
      "Give a consent",
      form.element,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", onclick: () => void grant() }, "Grant now (you pay the fee)"),
        " ",
        h("button", { type: "button", onclick: () => void sign() }, "Sign for the clinic to submit (no fee)"),
      ),
      grantStatus,
      signedHost,
    ),
    section(
      "Deny a provider",
      h("p", {}, "A deny beats every consent: the provider may not see that category, whatever else you signed."),
      denyProvider.element,
      field("Category", denyCategory),
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            const grantee = await attempt(denyStatus, async () => denyProvider.value());
            if (!grantee) return;
            await done(
              await tx(
                `Deny ${directory.name(grantee)} ${categoryWords(denyCategory.value)}`,
                () => client.deny(grantee, denyCategory.value),
                denyStatus,
              ),
            );
          },
        },
        "Deny",
      ),
      denyStatus,
    ),
    section("Revoke everything", revokeAll, allStatus),
    ...lower,
  );
}

async function delegatesSection(session: Session, now: number): Promise<HTMLElement> {
  const { client, account: me, chainId } = session;
  const list = await delegations(session, { patient: me });
  const status = statusLine();
  const address = h("input", {
    type: "text",
    name: "delegate",
    placeholder: "0x…",
    autocomplete: "off",
    spellcheck: "false",
  });
  const until = h("input", { type: "date", name: "delegate-until" });
  const appoint = async () => {
    const expiresAt = await attempt(status, async () => {
      if (!until.value) throw new Error("Choose the date the guardian's term ends");
      const [y, m, d] = until.value.split("-").map(Number);
      return Math.floor(new Date(y, m - 1, d + 1).getTime() / 1000);
    });
    if (!expiresAt) return;
    const result = await runTx(
      `Appoint guardian ${shortHex(address.value.trim())}`,
      chainId,
      () => client.setDelegate(address.value.trim(), expiresAt),
      status,
    );
    if (result) await session.refresh();
  };
  return section(
    "Guardians (delegates)",
    h(
      "p",
      {},
      "A guardian may grant, revoke and deny for you until the date you choose. A guardian cannot appoint another.",
    ),
    list.length === 0
      ? h("p", {}, "You have no guardian.")
      : h(
          "ul",
          {},
          list.map((d) =>
            h(
              "li",
              {},
              `${session.directory.name(d.delegate)} (${d.delegate}) is your guardian until ${day(d.expiresAt - 1)} (${duration(d.expiresAt - now)} left). `,
              h(
                "button",
                {
                  type: "button",
                  onclick: async () => {
                    const result = await runTx(
                      `Remove guardian ${shortHex(d.delegate)}`,
                      chainId,
                      () => client.removeDelegate(d.delegate),
                      status,
                    );
                    if (result) await session.refresh();
                  },
                },
                `Remove guardian ${shortHex(d.delegate)}`,
              ),
            ),
          ),
        ),
    h("h3", {}, "Appoint a guardian"),
    field("Guardian's address", address),
    field("Until (included)", until),
    h("button", { type: "button", onclick: () => void appoint() }, "Appoint guardian"),
    status,
  );
}

async function emergencySection(session: Session, now: number): Promise<HTMLElement> {
  const { client, account: me, chainId, directory } = session;
  const status = statusLine();
  const allowed = await client.consents.emergencyAccessAllowed(me);
  const opened = (await client.accessHistory(me)).filter((e) => e.kind === "EmergencyAccessOpened");
  const providers = [...new Set(opened.map((e) => e.provider))];
  const windows = (
    await Promise.all(
      providers.map(async (provider) => ({
        provider,
        expiresAt: Number(await client.consents.emergencyAccessExpiry(me, provider)),
      })),
    )
  ).filter((w) => w.expiresAt > now);
  const refresh = async <T>(result: T | undefined) => {
    if (result !== undefined) await session.refresh();
  };
  return section(
    "Emergency access (break-glass)",
    h(
      "p",
      {},
      allowed
        ? "Emergency access is allowed: a registered emergency provider may open a 24-hour window to your records, which you see here and can close."
        : "Emergency access is turned off: no provider can open an emergency window.",
    ),
    h(
      "button",
      {
        type: "button",
        onclick: async () =>
          refresh(
            await runTx(
              allowed ? "Turn emergency access off" : "Turn emergency access on",
              chainId,
              () => client.setEmergencyAccess(!allowed),
              status,
            ),
          ),
      },
      allowed ? "Turn emergency access off" : "Turn emergency access on",
    ),
    windows.length === 0
      ? h("p", {}, "No emergency window is open.")
      : h(
          "ul",
          { class: "windows" },
          windows.map((w) =>
            h(
              "li",
              { class: "warning" },
              `${directory.name(w.provider)} has emergency access: ${duration(w.expiresAt - now)} left (until ${moment(w.expiresAt)}). `,
              h(
                "button",
                {
                  type: "button",
                  onclick: async () =>
                    refresh(
                      await runTx(
                        `Close ${directory.name(w.provider)}'s emergency access`,
                        chainId,
                        () => client.closeEmergencyAccess(w.provider),
                        status,
                      ),
                    ),
                },
                `Close ${directory.name(w.provider)}'s emergency access`,
              ),
            ),
          ),
        ),
    status,
  );
}
