/**
 * Something a patient hands to a clinic (a signed consent, a consent receipt, signed revocations): a download of the
 * file, its QR code to scan from the screen, and its text to copy. All three hold the same JSON.
 */
import { downloadLink, field, h, type Child } from "./dom";
import { qrCode } from "./qr";

export function handoff(
  value: unknown,
  o: { what: string; forWhom: string; fileName: string; qr?: boolean; position?: Position },
): Child[] {
  const compact = JSON.stringify(value);
  const text = h("textarea", { readonly: true, rows: 3, class: "payload" }, compact);
  // Several for one provider: each control's name says which one it is ("… (2 of 3)").
  const which = o.position && o.position.count > 1 ? ` (${o.position.index + 1} of ${o.position.count})` : "";
  return [
    downloadLink(o.fileName, JSON.stringify(value, null, 2), `Download the ${o.what} for ${o.forWhom}${which}`),
    o.qr === false ? null : qrCode(compact, `QR code of the ${o.what} for ${o.forWhom}${which}`, o.forWhom, o.what),
    field(`${o.what.replace(/^./, (c) => c.toUpperCase())} for ${o.forWhom}, as text to copy${which}`, text),
  ];
}

/** Where an item stands among those with the same key: the second of three is `{ index: 1, count: 3 }`. */
export interface Position {
  index: number;
  count: number;
}

/** The {@link Position} of each item among the items with the same key (the same provider, say). */
export function positions<T>(items: readonly T[], key: (item: T) => string): Position[] {
  const keys = items.map(key);
  return keys.map((k, i) => ({
    index: keys.slice(0, i).filter((other) => other === k).length,
    count: keys.filter((other) => other === k).length,
  }));
}

/** A file name from a few words: "signed-consent-city-clinic-1.json". */
export function fileNameOf(...parts: (string | number)[]): string {
  return `${parts
    .map((p) =>
      String(p)
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, ""),
    )
    .join("-")}.json`;
}
