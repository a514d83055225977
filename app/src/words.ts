/** Plain words for codes, consents, times and addresses. */
import {
  Action,
  ConsentStatus,
  Decision,
  PURPOSE_DISPLAY,
  Purpose,
  actionsOf,
  categoryCode,
  purposesOf,
  type ConsentView,
} from "./sdk";

/** What a patient calls each well-known category. */
export const CATEGORY_WORDS: Record<string, string> = {
  "*": "health records of every category",
  laboratory: "laboratory results",
  imaging: "imaging",
  medications: "medications",
  allergies: "allergies",
  immunizations: "immunizations",
  diagnoses: "diagnoses",
  procedures: "procedures",
  "vital-signs": "vital signs",
  "clinical-notes": "clinical notes",
  "mental-health": "mental health records",
  "substance-use": "substance use records",
  "sexual-health": "sexual health records",
  genomics: "genomic data",
};

/** What each action lets a provider do, as a verb. */
export const ACTION_WORDS: Record<keyof typeof Action, string> = {
  COLLECT: "add to",
  ACCESS: "access",
  USE: "use",
  DISCLOSE: "share",
  CORRECT: "correct",
};

/** The words of a category code or id. */
export function categoryWords(category: string): string {
  const code = category.startsWith("0x") ? categoryCode(category) : category;
  if (code === undefined) return `the record ${shortHex(category)}`;
  return CATEGORY_WORDS[code] ?? code;
}

/** "a, b and c". */
export function listWords(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

export function purposeWords(mask: number): string {
  return listWords(purposesOf(mask).map((p) => PURPOSE_DISPLAY[Purpose[p] as keyof typeof Purpose]));
}

export function actionWords(mask: number): string {
  return listWords(actionsOf(mask).map((a) => ACTION_WORDS[Action[a] as keyof typeof Action]));
}

export function statusWord(status: ConsentStatus): string {
  return ConsentStatus[status].toLowerCase();
}

const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZoneName: "short",
});

/** A day in the user's locale: "31 Mar 2027". */
export function day(seconds: number): string {
  return dateFormat.format(new Date(seconds * 1000));
}

/** A moment in the user's locale with the time zone: "31 Mar 2027, 14:05 CEST". */
export function moment(seconds: number): string {
  return dateTimeFormat.format(new Date(seconds * 1000));
}

/** An amount of time in human units: "23 hours 59 minutes", "3 days 4 hours", "45 seconds". */
export function duration(seconds: number): string {
  const units: [string, number][] = [
    ["day", 86_400],
    ["hour", 3_600],
    ["minute", 60],
    ["second", 1],
  ];
  let rest = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [name, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0 && parts.length < 2) parts.push(`${count} ${name}${count === 1 ? "" : "s"}`);
    rest -= count * size;
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(" ") : "0 seconds";
}

export function shortHex(value: string): string {
  return value.length > 12 ? `${value.slice(0, 6)}…${value.slice(-4)}` : value;
}

/** A piece of a sentence: plain text, or words to emphasise (what, which records, why). */
export type SentencePart = string | { em: string };

/**
 * One consent in a sentence: "City Clinic may *access* your *laboratory results* for *treatment* until 31 Mar
 * 2027", or "City Clinic may not see any of your *imaging*" for a deny. `whose` is "your" for the patient; a
 * guardian reads the patient's name or address instead ("0x7099…79C8's").
 */
export function consentParts(
  name: string,
  category: string,
  consent: ConsentView,
  status?: ConsentStatus,
  whose = "your",
): SentencePart[] {
  const what = categoryWords(category);
  if (consent.decision === Decision.Deny) return [`${name} may not see any of ${whose} `, { em: what }];
  const verb = status === ConsentStatus.Revoked || status === ConsentStatus.Expired ? "could" : "may";
  const from = consent.notBefore > 0 && status === ConsentStatus.Pending ? ` from ${day(consent.notBefore)}` : "";
  return [
    `${name} ${verb} `,
    { em: actionWords(consent.actions) },
    ` ${whose} `,
    { em: what },
    " for ",
    { em: purposeWords(consent.purposes) },
    `${from} until ${day(consent.expiresAt - 1)}`,
  ];
}

/** {@link consentParts} as plain text. */
export function consentSentence(
  name: string,
  category: string,
  consent: ConsentView,
  status?: ConsentStatus,
  whose = "your",
): string {
  return consentParts(name, category, consent, status, whose)
    .map((part) => (typeof part === "string" ? part : part.em))
    .join("");
}

/** The terms of a grant not yet on the chain (a signed consent), as {@link consentSentence} words them. */
export function termsSentence(
  name: string,
  category: string,
  terms: { purposes: number; actions: number; notBefore: number; expiresAt: number },
  whose = "your",
): string {
  const consent = { ...terms, issuedAt: 0, epoch: 0, decision: Decision.Permit, sequence: 0 };
  return consentSentence(name, category, consent, undefined, whose);
}
