/**
 * Scanning a signed consent's QR code with the camera, where the browser can: the Shape Detection API's
 * `BarcodeDetector` (Chrome on Android, macOS and ChromeOS; not desktop Linux nor Firefox) and a camera. Elsewhere
 * the button is not shown and the clinic pastes the text a scanner app read from the code.
 */
import { h } from "./dom";

interface Detector {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
type DetectorClass = new (options: { formats: string[] }) => Detector;

function detectorClass(): DetectorClass | undefined {
  return (window as unknown as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
}

/** Whether this browser can scan a QR code with a camera. */
export function canScan(): boolean {
  return detectorClass() !== undefined && typeof navigator.mediaDevices?.getUserMedia === "function";
}

/** A "scan with the camera" button and its preview; `onText` gets the code's text. Undefined where unsupported. */
export function scanControl(onText: (text: string) => void, status: HTMLElement): HTMLElement | undefined {
  const found = detectorClass();
  if (!found || !canScan()) return undefined;
  const Detector: DetectorClass = found;
  const idle = "Scan the QR code with the camera";
  const video = h("video", { muted: true, playsinline: true, "aria-label": "Camera preview", hidden: true });
  let halt: (() => void) | undefined;
  const button = h("button", { type: "button", onclick: () => (halt ? halt() : void start()) }, idle);

  async function start(): Promise<void> {
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (error) {
      status.textContent = `The camera is not available (${(error as Error).message}): paste the text instead.`;
      return;
    }
    const detector = new Detector({ formats: ["qr_code"] });
    let running = true;
    const stop = () => {
      running = false;
      halt = undefined;
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
      video.hidden = true;
      button.textContent = idle;
    };
    halt = stop;
    video.srcObject = stream;
    video.hidden = false;
    button.textContent = "Stop scanning";
    status.textContent = "Hold the patient's QR code in front of the camera…";
    await video.play().catch(() => undefined);
    while (running) {
      const codes = await detector.detect(video).catch(() => []);
      const text = codes.find((code) => code.rawValue)?.rawValue;
      if (text) {
        stop();
        status.textContent = "";
        onText(text);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  return h("div", { class: "scan" }, button, video);
}
