/**
 * The QR code of a signed consent (or another file handed to a clinic) (`qrcode-generator`): the same text as the file, for a clinic to scan from the
 * patient's screen. Error correction L keeps the code as small as a ~600-character consent allows (about 80 modules
 * a side); the image is drawn at 4 pixels a module with the standard 4-module quiet zone, and never scaled up.
 */
import qrcode from "qrcode-generator";

import { h } from "./dom";

/** The QR code's image as a data URL (a GIF), or undefined when the text is too long for any QR code. */
export function qrDataUrl(payload: string): { url: string; size: number } | undefined {
  try {
    const qr = qrcode(0, "L");
    qr.addData(payload);
    qr.make();
    return { url: qr.createDataURL(4, 4), size: (qr.getModuleCount() + 8) * 4 };
  } catch {
    return undefined; // "code length overflow": longer than a version 40 code holds
  }
}

/** A figure named `label` with the QR code of `payload` and a caption saying what it is for. */
export function qrCode(payload: string, label: string, forWhom: string, what = "signed consent"): HTMLElement {
  const image = qrDataUrl(payload);
  return h(
    "figure",
    { class: "qr", "aria-label": label },
    image
      ? h("img", {
          src: image.url,
          width: image.size,
          height: image.size,
          alt: `QR code holding the ${what}'s text (${payload.length} characters), the same as the file`,
        })
      : null,
    h(
      "figcaption",
      {},
      image
        ? `Let ${forWhom} scan this code from your screen: it holds the ${what}, the same as the file.`
        : `This ${what} is too long for a QR code (${payload.length} characters): give the file or the text instead.`,
    ),
  );
}
