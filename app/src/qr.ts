/**
 * The QR code of a signed consent, kept in this one module so that a QR library can be added without touching the
 * views. Until one is installed it shows the payload's size and says to use the file or the text instead.
 */
import { h } from "./dom";

export function qrCode(payload: string, label: string): HTMLElement {
  return h(
    "figure",
    { class: "qr", "aria-label": label },
    h(
      "figcaption",
      {},
      `QR code: not available in this build (the payload is ${payload.length} characters). Use the file or the text instead.`,
    ),
  );
}
