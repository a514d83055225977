/** Records: anchored records and their version chains, "verify a file" (hashed in the browser), anchor a file. */
import { getAddress } from "ethers";

import { field, fileBytes, h, section, select, statusLine } from "../dom";
import { RecordStatus, cidFor } from "../sdk";
import type { Session } from "../session";
import { attempt, runTx } from "../tx";
import { categoryWords, moment, shortHex } from "../words";
import { categorySelect } from "./consent-form";

/** A drop zone around a labelled file input: drop a file or choose one; `onFile` gets it. */
export function dropZone(label: string, onFile: (file: File) => void, multiple = false): HTMLElement {
  const input = h("input", { type: "file", multiple });
  input.addEventListener("change", () => {
    if (input.files?.[0]) onFile(input.files[0]);
  });
  const zone = h(
    "div",
    { class: "drop-zone" },
    field(label, input, "Or drop a file here. It is read in your browser and never uploaded."),
  );
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const file = event.dataTransfer?.files?.[0];
    if (file) onFile(file);
  });
  return zone;
}

export async function recordsView(session: Session, patient: string): Promise<HTMLElement> {
  const { client, directory, chainId } = session;
  const logs = await client.records.queryFilter(
    client.records.filters.RecordAnchored(undefined, patient),
    session.deployment.deploymentBlock,
  );
  const rows = await Promise.all(
    logs.map(async (log) => {
      const record = await client.records.recordOf(log.args.recordId);
      return {
        id: log.args.recordId,
        category: log.args.category,
        hash: log.args.contentHash,
        by: getAddress(log.args.anchoredBy),
        supersedes: log.args.supersedes,
        anchoredAt: Number(record.anchoredAt),
        status: Number(record.status) as RecordStatus,
      };
    }),
  );
  const ZERO = "0x" + "0".repeat(64);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const heads = rows.filter((r) => !rows.some((other) => other.supersedes === r.id));
  const chains = heads.map((head) => {
    const chain = [head];
    for (let at = head; at.supersedes !== ZERO && byId.has(at.supersedes);) {
      at = byId.get(at.supersedes)!;
      chain.push(at);
    }
    return chain;
  });
  const who = (address: string) => (address === patient ? "you" : directory.name(address));

  const verifyResult = h("p", { class: "verify-result", role: "status", "aria-live": "polite" });
  const verify = dropZone("Verify a file", async (file) => {
    verifyResult.textContent = `Checking ${file.name}…`;
    const result = await attempt(verifyResult, async () => client.verifyFile(patient, await fileBytes(file)));
    if (!result) return;
    verifyResult.className = result.anchored ? "verify-result ok" : "verify-result error";
    verifyResult.textContent = result.anchored
      ? `Yes: ${file.name} is exactly the record anchored on ${moment(result.anchoredAt)} (${RecordStatus[result.status].toLowerCase()}).`
      : `No: ${file.name} is not a record anchored for this patient. Even a one-byte change gives a different fingerprint.`;
  });

  const category = categorySelect(false);
  const supersedes = select(
    [
      ["", "Nothing: a new record"],
      ...rows
        .filter((r) => r.status === RecordStatus.Active)
        .map((r): [string, string] => [
          r.id,
          `${categoryWords(r.category)} anchored ${moment(r.anchoredAt)} (record ${shortHex(r.id)})`,
        ]),
    ],
    { name: "supersedes" },
  );
  const anchorStatus = statusLine();
  let chosen: File | undefined;
  const anchorZone = dropZone("File to anchor", (file) => {
    chosen = file;
    anchorStatus.textContent = `${file.name} is ready: its fingerprint will be anchored, never the file.`;
  });
  const anchor = async () => {
    if (!chosen) {
      anchorStatus.classList.add("error");
      anchorStatus.textContent = "Choose a file first.";
      return;
    }
    const bytes = await fileBytes(chosen);
    const name = chosen.name;
    const replaced = supersedes.value ? byId.get(supersedes.value) : undefined;
    const categoryValue = replaced ? replaced.category : category.value;
    const result = await runTx(
      `Anchor the fingerprint of ${name} (${categoryWords(categoryValue)})${replaced ? " as a new version" : ""}`,
      chainId,
      () =>
        client.anchor({
          patient,
          category: categoryValue,
          bytes,
          uri: `ipfs://${cidFor(bytes)}`,
          supersedes: replaced?.id,
        }),
      anchorStatus,
    );
    if (result) await session.refresh();
  };

  return section(
    "Records",
    rows.length === 0
      ? h("p", {}, "No record is anchored for this patient yet.")
      : h(
          "ul",
          { class: "records" },
          chains.map((chain) =>
            h(
              "li",
              {},
              chain.map((r, index) =>
                h(
                  "p",
                  { class: index === 0 ? "" : "older" },
                  `${index === 0 ? "" : "Earlier version: "}${categoryWords(r.category).replace(/^./, (c) => c.toUpperCase())}, anchored ${moment(r.anchoredAt)} by ${who(r.by)}: ${RecordStatus[r.status].toLowerCase()}. `,
                  h("small", {}, `Fingerprint ${shortHex(r.hash)}, record ${shortHex(r.id)}`),
                ),
              ),
            ),
          ),
        ),
    h("h3", {}, "Verify a file"),
    verify,
    verifyResult,
    h("h3", {}, "Anchor a file's fingerprint"),
    field("Category", category),
    field(
      "Replaces (a corrected version of)",
      supersedes,
      "A new version keeps the category of the record it replaces.",
    ),
    anchorZone,
    h("button", { type: "button", onclick: () => void anchor() }, "Anchor the fingerprint"),
    anchorStatus,
  );
}
