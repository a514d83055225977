/**
 * The clinic view: check a patient's consent (with the reason when the answer is no), submit a patient's signed
 * consent (terms shown before paying), record an access, open emergency access, anchor a record, anchor a batch;
 * and the same for patients in privacy mode (privacy-clinic.ts).
 */
import { download, field, fileBytes, h, replace, section, statusLine } from "../dom";
import {
  ANY_CATEGORY,
  ConsentStatus,
  Decision,
  PURPOSE_DISPLAY,
  Purpose,
  Action,
  ProviderStatus,
  buildBatch,
  contentHash,
  parseSignedGrant,
  type SignedGrant,
} from "../sdk";
import type { Session } from "../session";
import { attempt, runTx } from "../tx";
import { ACTION_WORDS, actionWords, categoryWords, day, moment, purposeWords, termsSentence } from "../words";
import { actionSelect, categorySelect, patientInput, purposeSelect, readPatient } from "./consent-form";
import { dropZone } from "./records";
import { scanControl } from "../scan";
import { privacyClinicView } from "./privacy-clinic";

/** Why `grantee` may not act now: the first reason found, in words (`words` names a category id). */
export async function whyNot(
  session: Session,
  patient: string,
  category: string,
  purpose: keyof typeof Purpose,
  action: keyof typeof Action,
  words: (category: string) => string = categoryWords,
): Promise<string> {
  const { client, account } = session;
  const { id, status } = await client.providerStatus(account);
  if (status === ProviderStatus.Suspended)
    return "your provider registration is suspended: no consent authorises a suspended provider";
  if (status === ProviderStatus.Retired) return "this key of your provider was retired: use its current key";
  const blocking = await client.denyBlocking(patient, account, category);
  if (blocking) return `the patient denied you ${words(blocking.category)}`;
  const keys = [...new Set([id, account])];
  let best:
    | { status: ConsentStatus; consent: Awaited<ReturnType<typeof client.consentOf>>["consent"]; category: string }
    | undefined;
  for (const key of keys) {
    for (const scope of [category, "*"]) {
      const read = await client.consentOf(patient, key, scope);
      if (read.status !== ConsentStatus.None && (!best || read.status === ConsentStatus.Active))
        best = { ...read, category: scope };
    }
  }
  if (!best) return `the patient has given you no consent for ${words(category)}`;
  const c = best.consent;
  switch (best.status) {
    case ConsentStatus.Revoked:
      return "the patient revoked your consent";
    case ConsentStatus.Expired:
      return `your consent expired on ${moment(c.expiresAt)}`;
    case ConsentStatus.Pending:
      return `your consent starts only on ${moment(c.notBefore)}`;
    case ConsentStatus.Denied:
      return `the patient denied you ${words(best.category === "*" ? ANY_CATEGORY : category)}`;
    default:
      break;
  }
  if (c.decision === Decision.Permit) {
    if ((c.purposes & (1 << Purpose[purpose])) === 0)
      return `your consent covers ${purposeWords(c.purposes)}, not ${PURPOSE_DISPLAY[purpose]}`;
    if ((c.actions & (1 << Action[action])) === 0)
      return `your consent lets you ${actionWords(c.actions)}, not ${ACTION_WORDS[action]}`;
  }
  return "no consent in force covers this";
}

export async function providerView(session: Session): Promise<HTMLElement> {
  const { client, account: me, chainId, directory } = session;
  const entry = directory.get(me);
  const tx = <T>(label: string, send: () => Promise<T>, status?: HTMLElement) => runTx(label, chainId, send, status);

  // --- Check ---
  const checkPatient = patientInput("check-patient");
  const checkCategory = categorySelect(false);
  const checkPurpose = purposeSelect();
  const checkAction = actionSelect();
  const checkResult = h("p", { class: "check-result", role: "status", "aria-live": "polite" });
  const check = async () => {
    checkResult.className = "check-result";
    const answer = await attempt(checkResult, async () => {
      const patient = readPatient(checkPatient);
      const [category, purpose, action] = [
        checkCategory.value,
        checkPurpose.value as keyof typeof Purpose,
        checkAction.value as keyof typeof Action,
      ];
      const yes = await client.isAuthorized(patient, me, category, purpose, action);
      const what = `${ACTION_WORDS[action]} ${categoryWords(category)} for ${PURPOSE_DISPLAY[purpose]}`;
      return yes
        ? { yes, text: `Yes: you may ${what} now.` }
        : {
            yes,
            text: `No: you may not ${what}, because ${await whyNot(session, patient, category, purpose, action)}.`,
          };
    });
    if (!answer) return;
    checkResult.className = `check-result ${answer.yes ? "ok" : "error"}`;
    checkResult.textContent = answer.text;
  };

  // --- Submit a signed consent ---
  const submitStatus = statusLine();
  const pasted = h("textarea", { name: "signed-text", rows: 4, placeholder: '{"request": …, "signature": "0x…"}' });
  const terms = h("div", { class: "terms", "aria-live": "polite" });
  let pending: SignedGrant | undefined;
  const showTerms = (text: string) => {
    pending = undefined;
    replace(terms);
    const parsed = (() => {
      try {
        return parseSignedGrant(text);
      } catch (error) {
        submitStatus.classList.add("error");
        submitStatus.textContent = (error as Error).message;
        return undefined;
      }
    })();
    if (!parsed) return;
    submitStatus.classList.remove("error");
    submitStatus.textContent = "";
    pending = parsed;
    const r = parsed.request;
    replace(
      terms,
      h("h3", {}, "Terms of this signed consent"),
      h(
        "p",
        { class: "sentence" },
        `Patient ${r.patient}: ${termsSentence(directory.name(r.grantee), r.category, r, "their")}. `,
        `Submit it before ${moment(Number(parsed.deadline))}.`,
      ),
      h("button", { type: "button", class: "primary", onclick: () => void submit() }, "Submit and pay the fee"),
    );
  };
  const submit = async () => {
    if (!pending) return;
    const signed = pending;
    const result = await tx(
      `Submit the consent signed by ${signed.request.patient.slice(0, 8)}… for ${categoryWords(signed.request.category)}`,
      () => client.submitSignedGrant(signed),
      submitStatus,
    );
    if (result) {
      replace(terms);
      pending = undefined;
      pasted.value = "";
    }
  };
  const fromFile = dropZone("Signed consent file", async (file) => {
    const text = new TextDecoder().decode(await fileBytes(file));
    pasted.value = text;
    showTerms(text);
  });

  // --- Record an access ---
  const accessPatient = patientInput("access-patient");
  const accessCategory = categorySelect(false);
  const accessPurpose = purposeSelect();
  const accessAction = actionSelect();
  const accessRecord = h("input", {
    type: "text",
    name: "record-id",
    placeholder: "optional 0x… record id",
    autocomplete: "off",
  });
  const accessStatus = statusLine();

  // --- Emergency ---
  const ePatient = patientInput("emergency-patient");
  const eReason = h("input", { type: "text", name: "emergency-reason", autocomplete: "off" });
  const eStatus = statusLine();

  // --- Anchor one ---
  const aPatient = patientInput("anchor-patient");
  const aCategory = categorySelect(false);
  const aStatus = statusLine();
  let aFile: File | undefined;
  const aZone = dropZone("Record file", (file) => {
    aFile = file;
    aStatus.textContent = `${file.name} is ready.`;
  });

  // --- Batch ---
  const bCategory = categorySelect(false);
  const bPatient = patientInput("batch-patient");
  const folder = h("input", { type: "file", multiple: true, webkitdirectory: true, name: "batch-folder" });
  const progress = h("progress", { max: 1, value: 0, "aria-label": "Hashing progress" });
  const bStatus = statusLine();
  const batch = async () => {
    const files = [...(folder.files ?? [])];
    const patient = await attempt(bStatus, async () => {
      if (files.length === 0) throw new Error("Choose a folder of files first");
      return readPatient(bPatient);
    });
    if (!patient) return;
    const category = client.dataCategoryIdOf(bCategory.value);
    progress.max = files.length;
    const items: { patient: string; category: string; contentHash: string; file: string }[] = [];
    for (const [index, file] of files.entries()) {
      items.push({
        patient,
        category,
        contentHash: contentHash(await fileBytes(file)),
        file: file.webkitRelativePath || file.name,
      });
      progress.value = index + 1;
      bStatus.textContent = `Hashed ${index + 1} of ${files.length} files.`;
    }
    const built = buildBatch(items);
    const proofs = {
      root: built.root,
      submitter: me,
      chainId,
      recordRegistry: session.deployment.recordRegistry,
      items: items.map((item, index) => ({ ...item, proof: built.proofs[index] })),
    };
    download(`batch-proofs-${built.root.slice(2, 10)}.json`, JSON.stringify(proofs, null, 2));
    bStatus.textContent = "The proofs file was saved. Now sending the root…";
    await tx(
      `Anchor a batch of ${files.length} records`,
      () =>
        client.anchorBatch(
          items.map(({ patient, category, contentHash }) => ({ patient, category, contentHash })),
          "",
        ),
      bStatus,
    );
  };

  return h(
    "div",
    { class: "provider" },
    h(
      "p",
      { class: "who" },
      entry
        ? `You act as ${entry.name}${entry.status === ProviderStatus.Active ? "" : ` (${ProviderStatus[entry.status].toLowerCase()})`}.`
        : "This account is not a registered provider: checks answer for it as a plain address, and break-glass and batches need a registered provider.",
    ),
    section(
      "Check a patient's consent",
      field("Patient's address", checkPatient),
      field("Category", checkCategory),
      field("Purpose", checkPurpose),
      field("Action", checkAction),
      h("button", { type: "button", onclick: () => void check() }, "Check"),
      checkResult,
    ),
    section(
      "Submit a patient's signed consent",
      h("p", {}, "From the file the patient gave you, its QR code, or its text. Its terms are shown before you pay."),
      fromFile,
      scanControl((text) => {
        pasted.value = text;
        showTerms(text);
      }, submitStatus),
      field(
        "Or paste the signed consent",
        pasted,
        "The file's text, or the text a QR code scanner read from the patient's QR code.",
      ),
      h("button", { type: "button", onclick: () => showTerms(pasted.value) }, "Show the terms"),
      terms,
      submitStatus,
    ),
    section(
      "Record an access",
      field("Patient's address", accessPatient),
      field("Category", accessCategory),
      field("Purpose", accessPurpose),
      field("Action", accessAction),
      field("Record id (optional)", accessRecord),
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            const patient = await attempt(accessStatus, async () => readPatient(accessPatient));
            if (!patient) return;
            const recordId = accessRecord.value.trim() || undefined;
            await tx(
              `Record access: ${ACTION_WORDS[accessAction.value as keyof typeof Action]} ${categoryWords(accessCategory.value)} for ${PURPOSE_DISPLAY[accessPurpose.value as keyof typeof Purpose]}`,
              () =>
                client.recordAccess(patient, accessCategory.value, accessPurpose.value, accessAction.value, recordId),
              accessStatus,
            );
          },
        },
        "Record the access",
      ),
      accessStatus,
    ),
    section(
      "Emergency access (break-glass)",
      h(
        "p",
        {},
        "Opens a 24-hour window to the patient's records, visible to the patient, who can close it. Only the reason's fingerprint goes on-chain.",
      ),
      field("Patient's address", ePatient),
      field("Clinical reason", eReason),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: async () => {
            const patient = await attempt(eStatus, async () => readPatient(ePatient));
            if (!patient) return;
            await tx("Open emergency access", () => client.emergencyAccess(patient, eReason.value), eStatus);
          },
        },
        "Open emergency access",
      ),
      eStatus,
    ),
    section(
      "Anchor a record for a patient",
      h(
        "p",
        {},
        "Needs the patient's consent to add to (collect) that category. Only the file's fingerprint goes on-chain.",
      ),
      field("Patient's address", aPatient),
      field("Category", aCategory),
      aZone,
      h(
        "button",
        {
          type: "button",
          onclick: async () => {
            const patient = await attempt(aStatus, async () => {
              if (!aFile) throw new Error("Choose a file first");
              return readPatient(aPatient);
            });
            if (!patient || !aFile) return;
            const bytes = await fileBytes(aFile);
            await tx(
              `Anchor ${aFile.name} for ${patient.slice(0, 8)}…`,
              () => client.anchor({ patient, category: aCategory.value, bytes, uri: "" }),
              aStatus,
            );
          },
        },
        "Anchor the fingerprint",
      ),
      aStatus,
    ),
    section(
      "Anchor a batch",
      h(
        "p",
        {},
        "One transaction for a folder of records. The proofs file (each file's proof) is saved before the root is sent.",
      ),
      field("Patient's address", bPatient),
      field("Category", bCategory),
      field("Folder of records", folder),
      progress,
      h("button", { type: "button", onclick: () => void batch() }, "Hash, save the proofs, anchor the root"),
      bStatus,
    ),
    await privacyClinicView(session),
    h(
      "p",
      { class: "note" },
      `Deadlines and dates are in your time zone; today is ${day(Math.floor(Date.now() / 1000))}.`,
    ),
  );
}
