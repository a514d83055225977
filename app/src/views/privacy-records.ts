/**
 * The patient's privacy mode, by name: accesses, records and break-glass windows of every account; checking a copy of
 * a record against its salt file; opening a record a clinic encrypted to a pseudonym.
 */
import { download, fileBytes, h, section, statusLine } from "../dom";
import {
  PURPOSE_DISPLAY,
  decryptForGrantee,
  parseRecordSalt,
  verifySaltedFile,
  type PatientPrivacy,
  type PrivateListing,
} from "../sdk";
import type { Session } from "../session";
import { attempt } from "../tx";
import { categoryWords, day, moment, shortHex } from "../words";
import { PAST } from "./history";
import { dropZone } from "./records";

/** What an id no known code gives is called (categoryWords leaves words that are no code or id as they are). */
export const UNNAMED = "records of a private category you do not name";

/** The words of a listed category: its name when known. */
export function privateWords(entry: { categoryCode?: string }): string {
  return categoryWords(entry.categoryCode ?? UNNAMED);
}

/** Accesses, records and break-glass windows of every account, by name. */
export function activitySection(
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
export function verifySection(session: Session): HTMLElement {
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
export function openSection(session: Session, privacy: PatientPrivacy, listing: PrivateListing): HTMLElement {
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
