/**
 * Something a patient hands to a clinic (a signed consent, a consent receipt, signed revocations): a download of the
 * file, its QR code to scan from the screen, and its text to copy. All three hold the same JSON.
 */
import { downloadLink, field, h, type Child } from "./dom";
import { qrCode } from "./qr";

export function handoff(value: unknown, o: { what: string; forWhom: string; fileName: string; qr?: boolean }): Child[] {
  const compact = JSON.stringify(value);
  const text = h("textarea", { readonly: true, rows: 3, class: "payload" }, compact);
  return [
    downloadLink(o.fileName, JSON.stringify(value, null, 2), `Download the ${o.what} for ${o.forWhom}`),
    o.qr === false ? null : qrCode(compact, `QR code of the ${o.what} for ${o.forWhom}`, o.forWhom, o.what),
    field(`${o.what.replace(/^./, (c) => c.toUpperCase())} for ${o.forWhom}, as text to copy`, text),
  ];
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
