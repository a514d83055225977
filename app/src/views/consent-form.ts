/**
 * The consent form in words: provider, category, purposes and actions (checkboxes with their HL7 codes), and a
 * duration or an end date, with a preview sentence before the wallet opens.
 */
import { isAddress } from "ethers";

import { checkboxes, field, h, select } from "../dom";
import { Action, CATEGORY_CODES, PURPOSE_DISPLAY, Purpose, actionMask, purposeMask, type GrantParams } from "../sdk";
import type { Session } from "../session";
import { ACTION_WORDS, CATEGORY_WORDS, actionWords, categoryWords, day, purposeWords } from "../words";

const UNITS: [string, string][] = [
  ["3600", "hours"],
  ["86400", "days"],
  ["604800", "weeks"],
  ["2592000", "months (30 days)"],
  ["31536000", "years (365 days)"],
];

export interface ConsentForm {
  element: HTMLElement;
  /** The grant as filled in, with its end computed from `now`; throws a sentence when something is missing. */
  read(now: number): GrantParams & { providerName: string };
  preview: HTMLElement;
}

/** Options for a provider select: the directory's active providers, then "another address". */
export function providerSelect(
  session: Session,
  label = "Provider",
): { element: HTMLElement; value: () => string; name: () => string } {
  const providers = session.directory.list().filter((p) => p.id !== session.account);
  const choice = select(
    [
      ...providers.map((p): [string, string] => [p.id, `${p.name} (${p.id.slice(0, 8)}…)`]),
      ["other", "Another address…"],
    ],
    { name: "provider" },
  );
  const other = h("input", {
    type: "text",
    name: "provider-address",
    placeholder: "0x…",
    autocomplete: "off",
    spellcheck: "false",
  });
  const otherField = field("Provider address", other);
  const sync = () => {
    otherField.hidden = choice.value !== "other";
  };
  choice.addEventListener("change", sync);
  sync();
  const value = () => {
    const address = choice.value === "other" ? other.value.trim() : choice.value;
    if (!isAddress(address)) throw new Error("Choose a provider, or give its address (0x followed by 40 hex digits)");
    return address;
  };
  return {
    element: h("div", {}, field(label, choice), otherField),
    value,
    name: () => {
      try {
        return session.directory.name(value());
      } catch {
        return "the provider";
      }
    },
  };
}

export function categorySelect(includeAll: boolean): HTMLSelectElement {
  const codes = [...(includeAll ? ["*"] : []), ...CATEGORY_CODES];
  return select(
    codes.map((code) => [code, `${(CATEGORY_WORDS[code] ?? code).replace(/^./, (c) => c.toUpperCase())}`]),
    { name: "category" },
  );
}

export function purposeOptions(): { value: string; label: string; checked?: boolean }[] {
  return (Object.keys(PURPOSE_DISPLAY) as (keyof typeof Purpose)[]).map((code) => ({
    value: code,
    label: `${PURPOSE_DISPLAY[code]} (${code})`,
    checked: code === "TREAT",
  }));
}

export function actionOptions(): { value: string; label: string; checked?: boolean }[] {
  return (Object.keys(ACTION_WORDS) as (keyof typeof Action)[]).map((code) => ({
    value: code,
    label: `${ACTION_WORDS[code]} (${code.toLowerCase()})`,
    checked: code === "ACCESS",
  }));
}

/** The form; `whose` words the preview for a guardian ("0x7099…79C8's" instead of "your"). */
export function consentForm(session: Session, whose = "your"): ConsentForm {
  const provider = providerSelect(session);
  const category = categorySelect(true);
  const purposes = checkboxes("Purposes (HL7 PurposeOfUse)", purposeOptions(), "purpose");
  const actions = checkboxes("Actions (FHIR consent actions)", actionOptions(), "action");
  const amount = h("input", { type: "number", name: "duration", min: 1, step: 1, value: 30, inputmode: "numeric" });
  const unit = select(UNITS, { name: "unit" });
  unit.value = "86400";
  const endDate = h("input", { type: "date", name: "end-date" });
  const preview = h("p", { class: "preview", "aria-live": "polite" });

  const read = (now: number) => {
    const grantee = provider.value();
    const purposeCodes = purposes.checked();
    const actionCodes = actions.checked();
    if (purposeCodes.length === 0) throw new Error("Tick at least one purpose");
    if (actionCodes.length === 0) throw new Error("Tick at least one action");
    let expiresAt: number;
    if (endDate.value) {
      const [y, m, d] = endDate.value.split("-").map(Number);
      expiresAt = Math.floor(new Date(y, m - 1, d + 1).getTime() / 1000); // the end of that day, local time
    } else {
      const count = Number(amount.value);
      if (!Number.isInteger(count) || count < 1) throw new Error("Give a duration of at least 1, or an end date");
      expiresAt = now + count * Number(unit.value);
    }
    if (expiresAt <= now) throw new Error("The end date is in the past: choose a later one");
    return {
      grantee,
      providerName: session.directory.name(grantee),
      category: category.value,
      purposes: purposeMask(...purposeCodes.map((c) => Purpose[c as keyof typeof Purpose])),
      actions: actionMask(...actionCodes.map((c) => Action[c as keyof typeof Action])),
      expiresAt,
    };
  };

  const update = () => {
    try {
      const p = read(Math.floor(Date.now() / 1000));
      preview.textContent =
        `Preview: ${p.providerName} will be able to ${actionWords(p.actions as number)} ${whose} ` +
        `${categoryWords(p.category)} for ${purposeWords(p.purposes as number)} until ${day(Number(p.expiresAt) - 1)}.`;
      preview.classList.remove("error");
    } catch (error) {
      preview.textContent = `Not ready yet: ${(error as Error).message}.`;
      preview.classList.add("error");
    }
  };

  const element = h(
    "div",
    { class: "consent-form", oninput: update, onchange: update },
    provider.element,
    field("Category of records", category),
    purposes.element,
    actions.element,
    h(
      "fieldset",
      { class: "period" },
      h("legend", {}, "For how long"),
      field("Duration", amount),
      field("Unit", unit),
      field("Or until this date (included)", endDate, "An end date, if given, replaces the duration."),
    ),
    preview,
  );
  update();
  return { element, read, preview };
}

/** A patient address field. */
export function patientInput(name: string): HTMLInputElement {
  return h("input", { type: "text", name, placeholder: "0x…", autocomplete: "off", spellcheck: "false" });
}

/** The patient address typed in `input`, or a sentence saying what is wrong. */
export function readPatient(input: HTMLInputElement): string {
  const value = input.value.trim();
  if (!isAddress(value)) throw new Error("Give the patient's address (0x followed by 40 hex digits)");
  return value;
}

/** One purpose (HL7 PurposeOfUse), in words with its code. */
export function purposeSelect(): HTMLSelectElement {
  return select(
    (Object.keys(PURPOSE_DISPLAY) as (keyof typeof Purpose)[]).map((code) => [
      code,
      `${PURPOSE_DISPLAY[code]} (${code})`,
    ]),
    { name: "purpose" },
  );
}

/** One action (FHIR consent action), in words with its code; access by default. */
export function actionSelect(): HTMLSelectElement {
  const s = select(
    (Object.keys(ACTION_WORDS) as (keyof typeof Action)[]).map((code) => [
      code,
      `${ACTION_WORDS[code]} (${code.toLowerCase()})`,
    ]),
    { name: "action" },
  );
  s.value = "ACCESS";
  return s;
}
