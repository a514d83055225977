/**
 * The patient view: consents in sentences, grant, sign for clinics, revoke, deny, delegates, break-glass. A guardian
 * (a live delegate of the patient) sees the same view for the patient it acts for, through the registry's `…For`
 * calls: every heading, sentence and transaction says it acts for that patient (no signing for clinics, no
 * guardians, no records: those take the patient's own key).
 */
import { getAddress } from "ethers";

import { field, h, replace, section, sentence, statusLine } from "../dom";
import { fileNameOf, handoff, positions } from "../handoff";
import { ConsentStatus, Decision, splitSignatureNonce, type SignedGrant } from "../sdk";
import type { Session } from "../session";
import { delegations } from "../session";
import { attempt, runTx } from "../tx";
import {
  actionWords,
  categoryWords,
  consentParts,
  consentSentence,
  day,
  duration,
  moment,
  purposeWords,
  shortHex,
  statusWord,
  termsSentence,
} from "../words";
import { categorySelect, consentForm, providerSelect } from "./consent-form";
import { historyView } from "./history";
import { recordsView } from "./records";

/** Signatures made in this page, per patient, until the page is closed. */
const signed = new Map<string, SignedGrant[]>();

/** An inline "are you sure?" under a button; runs `action` on yes. `question` may be worded when it opens. */
export function confirmable(
  label: string,
  question: string | (() => string),
  yes: string,
  action: () => Promise<void>,
  danger = false,
): HTMLElement {
  const box = h("div", { class: "confirm" });
  const open = () =>
    replace(
      box,
      h("p", { role: "alert", class: danger ? "warning" : "" }, typeof question === "string" ? question : question()),
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
export async function signedState(session: Session, s: SignedGrant): Promise<string> {
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

/** Who the view is for: the connected patient, or the patient a guardian acts for. */
export interface Acting {
  /** The patient whose consents are shown and changed. */
  patient: string;
  /** Whether the connected account acts as the patient's guardian (not the patient). */
  guardian: boolean;
  /** "your", or "0x7099…79C8's" for a guardian. */
  whose: string;
  /** A heading or sentence, said for the patient when a guardian acts: "Deny a provider for 0x7099…79C8". */
  title(text: string): string;
  /** A transaction's label: "As guardian of 0x7099…79C8: Deny …" for a guardian. */
  label(text: string): string;
}

export function actingFor(session: Session, patient: string = session.account): Acting {
  const guardian = getAddress(patient) !== getAddress(session.account);
  const name = shortHex(getAddress(patient));
  return {
    patient: getAddress(patient),
    guardian,
    whose: guardian ? `${name}'s` : "your",
    title: (text) => (guardian ? `${text} for ${name}` : text),
    label: (text) => (guardian ? `As guardian of ${name}: ${text}` : text),
  };
}

export async function patientView(session: Session, acting: Acting = actingFor(session)): Promise<HTMLElement> {
  const { client, directory, chainId } = session;
  const me = acting.patient;
  const { guardian, whose } = acting;
  const now = await session.now();
  const tx = <T>(label: string, send: () => Promise<T>, status?: HTMLElement) =>
    runTx(acting.label(label), chainId, send, status);
  const done = async <T>(result: T | undefined) => {
    if (result !== undefined) await session.refresh();
  };

  // --- Current consents ---
  const consents = (await client.currentConsents(me)).filter((c) => c.status !== ConsentStatus.None);
  consents.sort((a, b) => b.consent.issuedAt - a.consent.issuedAt);
  const listStatus = statusLine();
  const consentList =
    consents.length === 0
      ? h("p", {}, guardian ? "No consent given yet." : "You have not given anyone a consent yet.")
      : h(
          "ul",
          { class: "consents" },
          consents.map((c) => {
            const name = directory.name(c.grantee);
            const text = consentSentence(name, c.category, c.consent, c.status, whose);
            const live = c.status === ConsentStatus.Active || c.status === ConsentStatus.Pending;
            const deny = c.consent.decision === Decision.Deny;
            return h(
              "li",
              { class: `consent status-${statusWord(c.status)}` },
              h(
                "span",
                { class: "sentence" },
                sentence(consentParts(name, c.category, c.consent, c.status, whose)),
                ".",
              ),
              " ",
              h("span", { class: "badge" }, statusWord(c.status)),
              live || deny
                ? confirmable(
                    deny ? "Lift this deny" : "Revoke",
                    deny
                      ? `Lift the deny? ${name} would again be covered by any consent ${guardian ? "given" : "you give"}.`
                      : `Revoke this consent? ${name} will no longer be able to see ${whose} ${categoryWords(c.category)}.`,
                    deny ? "Yes, lift the deny" : "Yes, revoke",
                    async () =>
                      done(
                        await tx(
                          `Revoke: ${text}`,
                          () =>
                            guardian
                              ? client.revokeFor(me, c.grantee, c.category)
                              : client.revoke(c.grantee, c.category),
                          listStatus,
                        ),
                      ),
                  )
                : null,
            );
          }),
        );

  // --- Grant or sign ---
  const form = consentForm(session, whose);
  const grantStatus = statusLine();
  const signedHost = h("div", { class: "signed" });
  const grant = async () => {
    const p = await attempt(grantStatus, async () =>
      form.read(Math.max(await session.now(), Math.floor(Date.now() / 1000))),
    );
    if (!p) return;
    const sentence = `${p.providerName} may ${actionWords(p.actions as number)} ${whose} ${categoryWords(p.category)} for ${purposeWords(p.purposes as number)}`;
    await done(
      await tx(`Grant: ${sentence}`, () => (guardian ? client.grantFor(me, p) : client.grant(p)), grantStatus),
    );
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
    const where = positions(list, (s) => s.request.grantee);
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
                return h(
                  "li",
                  { class: "signed-item" },
                  h(
                    "p",
                    {},
                    `${termsSentence(name, s.request.category, s.request)}. `,
                    `${name} can submit it until ${moment(Number(s.deadline))}. `,
                    h("span", { class: "badge" }, states[index]),
                  ),
                  handoff(s, {
                    what: "signed consent",
                    forWhom: name,
                    fileName: fileNameOf("signed-consent", name, index + 1),
                    position: where[index],
                  }),
                );
              }),
            ),
          ],
    );
  };
  if (!guardian) await drawSigned();

  // --- Deny ---
  const denyProvider = providerSelect(session, "Provider to deny");
  const denyCategory = categorySelect(true);
  const denyStatus = statusLine();

  // --- Revoke everything ---
  const allStatus = statusLine();
  const revokeAll = confirmable(
    acting.title("Revoke everything"),
    guardian
      ? `This ends every consent ${shortHex(me)} has given, at once, for them. It also cancels every signed consent of theirs that a clinic has not submitted yet: they can no longer be used. Their denies, guardians and emergency setting stay.`
      : "This ends every consent you have given, at once. It also cancels every signed consent that a clinic has not submitted yet: they can no longer be used. Your denies, guardians and emergency setting stay.",
    guardian ? `Yes, revoke everything for ${shortHex(me)}` : "Yes, revoke everything",
    async () => {
      const result = await tx(
        "Revoke everything",
        () => (guardian ? client.revokeAllFor(me) : client.revokeAll()),
        allStatus,
      );
      if (result) signed.delete(me);
      await done(result);
    },
    true,
  );

  const lower = await Promise.all(
    guardian
      ? [emergencySection(session, now, acting), historyView(session, me)]
      : [
          delegatesSection(session, now),
          emergencySection(session, now, acting),
          recordsView(session, me),
          historyView(session, me),
        ],
  );
  return h(
    "div",
    { class: guardian ? "patient acting" : "patient" },
    section(
      guardian ? `${shortHex(me)}'s consents` : "Your consents",
      h(
        "p",
        {},
        guardian
          ? `Who may see what of ${shortHex(me)}'s records, now and before. You change them as their guardian.`
          : "Who may see what, now and before.",
      ),
      consentList,
      listStatus,
    ),
    section(
      acting.title("Give a consent"),
      form.element,
      h(
        "div",
        { class: "actions" },
        guardian
          ? h(
              "button",
              { type: "button", class: "primary", onclick: () => void grant() },
              `Grant for ${shortHex(me)} (you pay the fee)`,
            )
          : [
              h(
                "button",
                { type: "button", class: "primary", onclick: () => void grant() },
                "Grant now (you pay the fee)",
              ),
              " ",
              h("button", { type: "button", onclick: () => void sign() }, "Sign for the clinic to submit (no fee)"),
            ],
      ),
      guardian
        ? h(
            "p",
            { class: "hint" },
            "Only the patient can sign a consent for a clinic to submit: their wallet signs it, not yours.",
          )
        : null,
      grantStatus,
      signedHost,
    ),
    section(
      acting.title("Deny a provider"),
      h(
        "p",
        {},
        `A deny beats every consent: the provider may not see that category, whatever else ${guardian ? "the patient" : "you"} signed.`,
      ),
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
                () =>
                  guardian ? client.denyFor(me, grantee, denyCategory.value) : client.deny(grantee, denyCategory.value),
                denyStatus,
              ),
            );
          },
        },
        "Deny",
      ),
      denyStatus,
    ),
    section(acting.title("Revoke everything"), revokeAll, allStatus),
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

async function emergencySection(session: Session, now: number, acting: Acting): Promise<HTMLElement> {
  const { client, chainId, directory } = session;
  const { patient: me, guardian } = acting;
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
  const whose = guardian ? `${shortHex(me)}'s` : "your";
  const setting = allowed ? "Turn emergency access off" : "Turn emergency access on";
  return section(
    acting.title("Emergency access (break-glass)"),
    h(
      "p",
      {},
      allowed
        ? `Emergency access is allowed: a registered emergency provider may open a 24-hour window to ${whose} records, which you see here and can close.`
        : `Emergency access is turned off: no provider can open an emergency window to ${whose} records.`,
    ),
    h(
      "button",
      {
        type: "button",
        onclick: async () =>
          refresh(
            await runTx(
              acting.label(acting.title(setting)),
              chainId,
              () => (guardian ? client.setEmergencyAccessFor(me, !allowed) : client.setEmergencyAccess(!allowed)),
              status,
            ),
          ),
      },
      acting.title(setting),
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
                        acting.label(`Close ${directory.name(w.provider)}'s emergency access`),
                        chainId,
                        () =>
                          guardian
                            ? client.closeEmergencyAccessFor(me, w.provider)
                            : client.closeEmergencyAccess(w.provider),
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
