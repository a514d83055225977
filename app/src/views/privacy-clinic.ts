/**
 * The clinic's side of privacy mode (docs/privacy.md): it receives a patient's private signed consent (which carries
 * its relationship key), a consent receipt, or signed revocations; it keeps the relationship keys it holds (in this
 * browser's storage, and as files to download); and with a relationship it checks, records accesses and anchors
 * salted records under the patient's private category ids, the record encrypted to the patient's pseudonym.
 */
import { getAddress } from "ethers";

import { download, field, fileBytes, h, replace, section, select, statusLine } from "../dom";
import { fileNameOf } from "../handoff";
import {
  Action,
  PURPOSE_DISPLAY,
  Purpose,
  cidFor,
  encryptForGrantee,
  parseRelationship,
  parseSignedGrant,
  parseSignedRevoke,
  publicKeyOfSignedGrant,
  relationshipCategoryId,
  saltRecord,
  submitRevocations,
  type GranteeRelationship,
  type SignedGrant,
  type SignedRevoke,
} from "../sdk";
import type { Session } from "../session";
import { attempt, runTx } from "../tx";
import { ACTION_WORDS, categoryWords, moment, shortHex, termsSentence } from "../words";
import { actionSelect, categorySelect, purposeSelect } from "./consent-form";
import { confirmable } from "./patient";
import { whyNot } from "./provider";
import { dropZone } from "./records";

/** A relationship the clinic holds, with the patient's public key when it came with a signed consent. */
interface Held {
  relationship: GranteeRelationship;
  publicKey?: string;
}

/**
 * Where this browser keeps the relationships of one provider on one chain: under its stable id, so that they survive
 * a rotation of its key.
 */
function storageKey(chainId: number, providerId: string): string {
  return `consent-anchor/relationships/${chainId}/${providerId.toLowerCase()}`;
}

/** The relationships kept under `key`; unreadable entries are skipped. */
function loadHeld(key: string): Held[] {
  try {
    const stored = JSON.parse(localStorage.getItem(key) ?? "[]") as unknown[];
    return stored.flatMap((entry) => {
      try {
        const e = entry as { relationship: unknown; publicKey?: unknown };
        return [
          {
            relationship: parseRelationship(e.relationship),
            ...(typeof e.publicKey === "string" ? { publicKey: e.publicKey } : {}),
          },
        ];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

function saveHeld(key: string, held: Held[]): void {
  localStorage.setItem(key, JSON.stringify(held));
}

const samePair = (a: GranteeRelationship, b: GranteeRelationship) => a.patient === b.patient && a.grantee === b.grantee;

/** Adds (or updates) a relationship; a public key already known is kept. Returns its index. */
function keep(key: string, entry: Held): number {
  const held = loadHeld(key);
  const index = held.findIndex((h) => samePair(h.relationship, entry.relationship));
  const merged = { ...held[index], ...entry, publicKey: entry.publicKey ?? held[index]?.publicKey };
  if (!merged.publicKey) delete merged.publicKey;
  if (index === -1) held.push(merged);
  else held[index] = merged;
  saveHeld(key, held);
  return index === -1 ? held.length - 1 : index;
}

type Received =
  | { kind: "grant"; signed: SignedGrant; code: string; relationship: GranteeRelationship }
  | { kind: "relationship"; relationship: GranteeRelationship }
  | { kind: "receipt"; code: string; relationship: GranteeRelationship }
  | { kind: "revocations"; list: SignedRevoke[] };

/** What a privacy-mode file holds, checked: its relationship must be this chain's, for this clinic, and name its id. */
async function readReceived(session: Session, providerId: string, text: string): Promise<Received> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error("This is not a file from a patient in privacy mode: it is not JSON");
  }
  if (Array.isArray(value)) {
    if (value.some((v) => (v as { request?: { purposes?: unknown } })?.request?.purposes !== undefined))
      throw new Error("A list in a file holds signed revocations only: give each signed consent on its own");
    return { kind: "revocations", list: value.map((v) => parseSignedRevoke(v)) };
  }
  const v = value as {
    relationship?: unknown;
    kind?: unknown;
    categoryCode?: unknown;
    categoryId?: unknown;
    request?: { purposes?: unknown };
  };
  if (v.relationship === undefined && v.kind !== "consent-anchor/relationship") {
    if (v.request && v.request.purposes === undefined) return { kind: "revocations", list: [parseSignedRevoke(value)] };
    throw new Error(
      "This file holds no relationship key: a consent signed outside privacy mode goes to “Submit a patient's signed consent” above",
    );
  }
  const relationship = parseRelationship(value);
  if (relationship.grantee !== providerId)
    throw new Error(
      `This relationship is for ${shortHex(relationship.grantee)}, not for you (${shortHex(providerId)})`,
    );
  if (
    relationship.chainId !== session.chainId ||
    relationship.registry !== getAddress(session.deployment.consentRegistry)
  )
    throw new Error("This relationship is for another chain or another consent registry");
  if (v.kind === "consent-anchor/relationship") return { kind: "relationship", relationship };
  if (typeof v.categoryCode !== "string") throw new Error("The file does not name its category (categoryCode)");
  const code = v.categoryCode;
  if (v.kind === "consent-anchor/consent-receipt") {
    if (String(v.categoryId).toLowerCase() !== relationshipCategoryId(relationship, code))
      throw new Error("The receipt's category id is not its code's id in its relationship: refuse it");
    return { kind: "receipt", code, relationship };
  }
  const signed = parseSignedGrant(value);
  if (signed.request.patient !== relationship.patient)
    throw new Error("The signed consent and its relationship are for different patient accounts: refuse it");
  if (signed.request.grantee !== relationship.grantee)
    throw new Error("The signed consent is for another grantee than its relationship: refuse it");
  if (signed.request.category !== relationshipCategoryId(relationship, code))
    throw new Error(`The signed category is not “${code}” in this relationship: refuse it`);
  return { kind: "grant", signed, code, relationship };
}

export async function privacyClinicView(session: Session): Promise<HTMLElement> {
  const { client, directory, chainId, account: me } = session;
  const providerId = await client.providerIdOf(me);
  const store = storageKey(chainId, providerId);
  const tx = <T>(label: string, send: () => Promise<T>, status?: HTMLElement) => runTx(label, chainId, send, status);

  // --- Receive ---
  const receiveStatus = statusLine();
  const pasted = h("textarea", { name: "privacy-file-text", rows: 4 });
  const terms = h("div", { class: "terms", "aria-live": "polite" });
  const show = async (text: string) => {
    replace(terms);
    const received = await attempt(receiveStatus, () => readReceived(session, providerId, text));
    if (!received) return;
    receiveStatus.textContent = "";
    if (received.kind === "receipt" || received.kind === "relationship") {
      drawHeld(keep(store, { relationship: received.relationship }));
      receiveStatus.textContent =
        received.kind === "receipt"
          ? `Kept the relationship with patient ${received.relationship.patient} (their consent for ${categoryWords(received.code)}).`
          : `Kept the relationship with patient ${received.relationship.patient}.`;
      return;
    }
    if (received.kind === "revocations") {
      const list = received.list;
      replace(
        terms,
        h("h3", {}, "Signed revocations"),
        h(
          "p",
          { class: "sentence" },
          `${list.length} signed revocation${list.length === 1 ? "" : "s"} of consents given to ${[...new Set(list.map((s) => directory.name(s.request.grantee)))].join(", ")}. Each is submitted in its own transaction.`,
        ),
        h(
          "button",
          {
            type: "button",
            class: "primary",
            onclick: async () => {
              const result = await tx(
                `Submit ${list.length} signed revocation${list.length === 1 ? "" : "s"}`,
                () => submitRevocations(client, list),
                receiveStatus,
              );
              if (result) {
                replace(terms);
                receiveStatus.textContent = `${result.submitted.length} revoked; ${result.skipped.length} not (${result.skipped.map((s) => s.reason).join("; ") || "none"}).`;
              }
            },
          },
          "Submit the revocations and pay the fee",
        ),
      );
      return;
    }
    const { signed, code, relationship } = received;
    const r = signed.request;
    // Kept as soon as the file is read: whoever submits it (this clinic, the patient's relayer), the key is not lost.
    let publicKey: string | undefined;
    try {
      publicKey = publicKeyOfSignedGrant(signed);
    } catch {
      publicKey = undefined; // signed by a contract wallet: records cannot be encrypted to it
    }
    drawHeld(keep(store, { relationship, ...(publicKey ? { publicKey } : {}) }));
    replace(
      terms,
      h("h3", {}, "Terms of this private signed consent"),
      h(
        "p",
        { class: "sentence" },
        `Patient ${r.patient}: ${termsSentence(directory.name(r.grantee), code, r, "their")}. `,
        `The category is private: on the chain it is an id only you and the patient can name. Submit it before ${moment(Number(signed.deadline))}.`,
      ),
      h(
        "button",
        {
          type: "button",
          class: "primary",
          onclick: async () => {
            const result = await tx(
              `Submit the private consent of ${shortHex(r.patient)} for ${categoryWords(code)}`,
              () => client.submitSignedGrant(signed),
              receiveStatus,
            );
            if (!result) return;
            replace(terms);
            pasted.value = "";
          },
        },
        "Submit and pay the fee",
      ),
    );
  };
  const fromFile = dropZone("Privacy-mode file", async (file) => {
    const text = new TextDecoder().decode(await fileBytes(file));
    pasted.value = text;
    await show(text);
  });

  // --- Relationships held, and acting with one ---
  const heldHost = h("div", { "aria-live": "polite" });
  const choice = select([], { name: "relationship" });
  const heldStatus = statusLine();
  const chosen = (): Held => {
    const held = loadHeld(store)[Number(choice.value)];
    if (!held)
      throw new Error("Choose a patient in privacy mode first (submit their private consent, or open their receipt)");
    return held;
  };
  /** Redraws the relationships held, `selected` (an index) chosen, else the one chosen before. */
  const drawHeld = (selected?: number) => {
    const previous = choice.value;
    const held = loadHeld(store);
    replace(
      choice,
      held.map((entry, index) =>
        h(
          "option",
          { value: String(index) },
          `Patient ${shortHex(entry.relationship.patient)} (${entry.relationship.patient})`,
        ),
      ),
    );
    const wanted = selected !== undefined ? String(selected) : previous;
    if (wanted && Number(wanted) < held.length) choice.value = wanted;
    replace(
      heldHost,
      held.length === 0
        ? h("p", {}, "You hold no relationship yet.")
        : [
            field(
              "Patient in privacy mode",
              choice,
              "Their private category ids are computed from the relationship key they gave you.",
            ),
            h(
              "button",
              {
                type: "button",
                onclick: () => {
                  const entry = chosen();
                  download(
                    fileNameOf("relationship", shortHex(entry.relationship.patient)),
                    JSON.stringify(entry.relationship, null, 2),
                  );
                },
              },
              "Download this relationship file (a backup of its key)",
            ),
            " ",
            confirmable(
              "Forget this relationship in this browser",
              () =>
                "Forget it? Without its key you can no longer name this patient's private categories, check, record or anchor for them, unless you kept its file or the patient gives it again.",
              "Yes, forget it",
              async () => {
                const entry = chosen();
                saveHeld(
                  store,
                  loadHeld(store).filter((h) => !samePair(h.relationship, entry.relationship)),
                );
                heldStatus.textContent = `Forgot the relationship with ${shortHex(entry.relationship.patient)}.`;
                drawHeld(0);
              },
              true,
            ),
          ],
    );
  };
  drawHeld();

  const checkCategory = categorySelect(false);
  const checkPurpose = purposeSelect();
  const checkAction = actionSelect();
  const checkResult = h("p", { class: "check-result", role: "status", "aria-live": "polite" });
  const check = async () => {
    checkResult.className = "check-result";
    const answer = await attempt(checkResult, async () => {
      const { relationship } = chosen();
      const code = checkCategory.value;
      const id = relationshipCategoryId(relationship, code);
      const [purpose, action] = [checkPurpose.value as keyof typeof Purpose, checkAction.value as keyof typeof Action];
      const what = `${ACTION_WORDS[action]} ${categoryWords(code)} for ${PURPOSE_DISPLAY[purpose]}`;
      return (await client.isAuthorized(relationship.patient, me, id, purpose, action))
        ? { yes: true, text: `Yes: you may ${what} now.` }
        : {
            yes: false,
            text: `No: you may not ${what}, because ${await whyNot(session, relationship.patient, id, purpose, action, (c) => categoryWords(c === id ? code : c))}.`,
          };
    });
    if (!answer) return;
    checkResult.className = `check-result ${answer.yes ? "ok" : "error"}`;
    checkResult.textContent = answer.text;
  };

  const accessStatus = statusLine();
  const recordAccess = async () => {
    const held = await attempt(accessStatus, async () => chosen());
    if (!held) return;
    const code = checkCategory.value;
    await tx(
      `Record access privately: ${ACTION_WORDS[checkAction.value as keyof typeof Action]} ${categoryWords(code)} for ${PURPOSE_DISPLAY[checkPurpose.value as keyof typeof Purpose]}`,
      () =>
        client.recordAccess(
          held.relationship.patient,
          relationshipCategoryId(held.relationship, code),
          checkPurpose.value,
          checkAction.value,
        ),
      accessStatus,
    );
  };

  const anchorCategory = categorySelect(false);
  const anchorStatus = statusLine();
  let anchorFile: File | undefined;
  const anchorZone = dropZone("Private record file", (file) => {
    anchorFile = file;
    anchorStatus.textContent = `${file.name} is ready.`;
  });
  const anchor = async () => {
    const ready = await attempt(anchorStatus, async () => {
      if (!anchorFile) throw new Error("Choose the record's file first");
      return { held: chosen(), file: anchorFile, bytes: await fileBytes(anchorFile) };
    });
    if (!ready) return;
    const { held, file, bytes } = ready;
    const salt = saltRecord(bytes, held.relationship.patient);
    const sealed = held.publicKey ? encryptForGrantee(held.publicKey, bytes) : undefined;
    // The salt (and the encrypted copy) are saved before anything is sent: a paid anchor never loses its salt.
    download(`${file.name}.salt.json`, JSON.stringify(salt, null, 2));
    if (sealed) download(`${file.name}.ecies`, sealed, "application/octet-stream");
    const code = anchorCategory.value;
    await tx(
      `Anchor ${file.name} privately (${categoryWords(code)}) for ${shortHex(held.relationship.patient)}`,
      () =>
        client.anchor({
          patient: held.relationship.patient,
          category: relationshipCategoryId(held.relationship, code),
          contentHash: salt.contentHash,
          uri: sealed ? `ipfs://${cidFor(sealed)}` : "",
        }),
      anchorStatus,
    );
  };

  return section(
    "Patients in privacy mode",
    h(
      "p",
      {},
      "A patient in privacy mode gives you a file with your own relationship key: with it you name their private categories. " +
        "This browser keeps the keys it reads (under your provider's id, for this chain); download each as a backup.",
    ),
    h("h3", {}, "Receive a file from a patient"),
    h(
      "p",
      {},
      "A private signed consent (terms shown before you pay), a consent receipt, a relationship file (yours, kept as a backup, or one the patient gives again), or signed revocations.",
    ),
    fromFile,
    field("Or paste the file's text", pasted),
    h("button", { type: "button", onclick: () => void show(pasted.value) }, "Read the file"),
    terms,
    receiveStatus,
    h("h3", {}, "Relationships you hold"),
    heldHost,
    heldStatus,
    h("h3", {}, "Check and record an access"),
    field("Category", checkCategory),
    field("Purpose", checkPurpose),
    field("Action", checkAction),
    h("button", { type: "button", onclick: () => void check() }, "Check privately"),
    " ",
    h("button", { type: "button", onclick: () => void recordAccess() }, "Record the access privately"),
    checkResult,
    accessStatus,
    h("h3", {}, "Anchor a private record"),
    h(
      "p",
      {},
      "The fingerprint is keyed with a new salt, saved beside the file (give both to whoever must verify it). When the patient signed with an ordinary wallet, the file is also encrypted to them and its address (a CID) is anchored with it.",
    ),
    field("Category of the record", anchorCategory),
    anchorZone,
    h("button", { type: "button", onclick: () => void anchor() }, "Save the salt and anchor the salted fingerprint"),
    anchorStatus,
  );
}
