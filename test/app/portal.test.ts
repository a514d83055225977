/**
 * The web portal in a real browser: Debian's Chromium driven by playwright-core (no browser download), against
 * `npm run app`'s stack (a local chain with the registries and two named demo providers, and the built static site
 * served by Vite's preview server). An injected EIP-1193 test wallet, announced through EIP-6963, plays the patient
 * (dev account 1) and City Clinic (dev account 2) in two pages, and forwards every request to the node.
 *
 * Skipped, with the reason printed, when Chromium is not installed (`.ci/run` installs it). Screenshots of each view
 * go to app/test-results/ (git-ignored); axe-core runs on each view and must find no serious or critical violation.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { BrowserContext, Page } from "playwright-core";
import qrcode from "qrcode-generator";

import {
  ACCOUNT,
  CHROMIUM,
  OUT,
  TX_TIMEOUT,
  audit,
  confirmed,
  connectWallet,
  front,
  openPage,
  section,
  settled,
  startPortal,
  testWallet,
  until,
  type Portal,
  type Stack,
} from "./harness";
import { SendGate } from "./wallet";

const { patient: PATIENT, clinic: CLINIC, imaging: IMAGING, guardian: GUARDIAN } = ACCOUNT;
const SHORT_PATIENT = "0x7099…79C8";
const SHORT_GUARDIAN = "0x15d3…6A65";

describe("Web portal in Chromium", function () {
  this.timeout(180_000);
  this.bail(true); // each step builds on the one before

  let portal: Portal | undefined;
  let stack: Stack;
  let context: BrowserContext;
  let patient: Page;
  let clinic: Page;
  let downloads: string;
  const gate = new SendGate();

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    Skipping the portal browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
      this.skip();
    }
    // A fake camera, allowed without a prompt, for the clinic's QR scan.
    portal = await startPortal([testWallet("patient", 1), testWallet("clinic", 2)], gate, [
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
    ]);
    ({ stack, context, downloads } = portal);
    patient = await openPage(context, "patient");
    clinic = await openPage(context, "clinic");
  });

  after(async () => {
    await portal?.stop();
  });

  it("connects the patient's wallet (EIP-6963) and shows the role", async () => {
    await front(patient);
    await patient.goto(stack.url);
    await patient.getByRole("button", { name: "Connect Test Wallet (clinic)" }).waitFor();
    await audit(patient, "1-connect");
    await patient.getByRole("button", { name: "Connect Test Wallet (patient)" }).click();
    await expect(await patient.locator(".role").textContent()).to.equal("Role: Patient.");
  });

  it("grants in words, with a preview sentence, and shows the consent as a sentence", async () => {
    await front(patient);
    const give = section(patient, "Give a consent");
    await give.getByLabel("Provider", { exact: true }).selectOption(CLINIC);
    await give.getByLabel("Category of records").selectOption("laboratory");
    await give.getByLabel("add to (collect)").check();
    await give.getByLabel("Duration").fill("60");
    expect(await give.locator(".preview").textContent()).to.match(
      /^Preview: City Clinic will be able to add to and access your laboratory results for treatment until \d+ \w+ \d{4}\.$/,
    );
    gate.hold(); // the wallet sends only once the pending state has been seen
    await give.getByRole("button", { name: "Grant now (you pay the fee)" }).click();
    await gate.arrived();
    const pending = patient.locator(".activity li.pending", {
      hasText: "Grant: City Clinic may add to and access your laboratory results",
    });
    expect(await pending.textContent()).to.match(/: pending — confirm in your wallet, then wait for the chain…$/);
    expect(await give.locator("p.status").textContent()).to.match(/: pending…$/);
    gate.release();
    await confirmed(patient, "Grant: City Clinic may add to and access your laboratory results");
    const item = section(patient, "Your consents").locator("li", {
      hasText: "City Clinic may add to and access your laboratory results for treatment until",
    });
    await item.waitFor();
    expect(await item.locator(".badge").textContent()).to.equal("active");
  });

  let signedForImaging = "";
  let signedForClinic = "";
  let signedForClinicFile = "";

  /** The QR code qrcode-generator makes of `text`, as the portal draws it. */
  function qrOf(text: string): string {
    const qr = qrcode(0, "L");
    qr.addData(text);
    qr.make();
    return qr.createDataURL(4, 4);
  }

  it("signs for two clinics at once, exported as files (and text)", async () => {
    await front(patient);
    const give = section(patient, "Give a consent");
    await give.getByLabel("Provider", { exact: true }).selectOption(CLINIC);
    await give.getByLabel("Category of records").selectOption("clinical-notes");
    await give.getByRole("button", { name: "Sign for the clinic to submit (no fee)" }).click();
    await give.locator(".signed-item").first().waitFor();
    await give.getByLabel("Provider", { exact: true }).selectOption(IMAGING);
    await give.getByLabel("Category of records").selectOption("imaging");
    await give.getByRole("button", { name: "Sign for the clinic to submit (no fee)" }).click();
    await give.locator(".signed-item").nth(1).waitFor();
    expect(await give.locator(".signed-item .badge").allTextContents()).to.deep.equal(
      Array(2).fill("waiting to be submitted"),
    );
    signedForClinic = await give.getByLabel("Signed consent for City Clinic, as text to copy").inputValue();
    signedForImaging = await give.getByLabel("Signed consent for Harbour Imaging, as text to copy").inputValue();
    for (const [name, text] of [
      ["City Clinic", signedForClinic],
      ["Harbour Imaging", signedForImaging],
    ]) {
      // A real QR image of exactly the consent's text, decoded by the browser.
      const image = give.getByRole("figure", { name: `QR code of the signed consent for ${name}` }).locator("img");
      const src = (await image.getAttribute("src")) ?? "";
      expect(src).to.match(/^data:image\/gif;base64,/);
      expect(src).to.equal(qrOf(text));
      const width = () => image.evaluate((img: { complete: boolean; naturalWidth: number }) => img.naturalWidth);
      await until(async () => (await width()) > 0);
      expect(await width()).to.be.greaterThan(300); // (modules + quiet zone) x 4 pixels
    }
    const [download] = await Promise.all([
      patient.waitForEvent("download"),
      give.getByRole("link", { name: "Download the signed consent for City Clinic" }).click(),
    ]);
    signedForClinicFile = path.join(downloads, download.suggestedFilename());
    await download.saveAs(signedForClinicFile);
    expect(JSON.parse(fs.readFileSync(signedForClinicFile, "utf8")).request.grantee).to.equal(CLINIC);
    expect(JSON.parse(signedForImaging).request.grantee).to.equal(IMAGING);
    await audit(patient, "2-patient");
    await patient.evaluate("window.scrollTo(0, 0)");
    await patient.screenshot({ path: path.join(OUT, "patient-overview.png") }); // the first screen, for the README
  });

  it("the clinic connects, sees its role, and submits both signatures in the other order, terms shown first", async () => {
    // Headless Chromium on Linux has no BarcodeDetector: a stand-in reads the payload the test gives it from the
    // (fake) camera's video, so that the scan's wiring (camera, detect loop, terms) runs.
    await front(clinic);
    await clinic.addInitScript(`window.BarcodeDetector = class {
      async detect(video) {
        return video.readyState >= 2 && window.__qrInView ? [{ rawValue: window.__qrInView, format: "qr_code" }] : [];
      }
    };`);
    await connectWallet(clinic, stack.url, "Test Wallet (clinic)");
    expect(await clinic.locator(".role").textContent()).to.equal(
      "Role: Registered provider: City Clinic (active; treatment, emergency care).",
    );
    const submit = section(clinic, "Submit a patient's signed consent");
    await submit.getByLabel("Or paste the signed consent").fill(signedForImaging); // the QR code's text
    await submit.getByRole("button", { name: "Show the terms" }).click();
    expect(await submit.locator(".terms .sentence").textContent()).to.contain(
      `Patient ${PATIENT}: Harbour Imaging may access their imaging for treatment until`,
    );
    await submit.getByRole("button", { name: "Submit and pay the fee" }).click();
    await confirmed(clinic, /Submit the consent signed by .* for imaging/);
    await clinic.evaluate(`window.__qrInView = ${JSON.stringify(signedForClinic)}`); // the code held to the camera
    await submit.getByRole("button", { name: "Scan the QR code with the camera" }).click();
    await submit.locator(".terms .sentence", { hasText: "City Clinic may access their clinical notes" }).waitFor();
    expect(await submit.getByLabel("Or paste the signed consent").inputValue()).to.equal(signedForClinic);
    expect(await submit.getByLabel("Camera preview").isHidden()).to.equal(true);
    await submit.getByLabel("Signed consent file").setInputFiles(signedForClinicFile); // the same consent, as a file
    const pasted = submit.getByLabel("Or paste the signed consent");
    await until(async () => (await pasted.inputValue()) === fs.readFileSync(signedForClinicFile, "utf8"));
    await submit.locator(".terms .sentence", { hasText: "City Clinic may access their clinical notes" }).waitFor();
    await submit.getByRole("button", { name: "Submit and pay the fee" }).click();
    await confirmed(clinic, /Submit the consent signed by .* for clinical notes/);
  });

  it("checks consent as the clinic, with the reason when the answer is no", async () => {
    await front(clinic);
    const check = section(clinic, "Check a patient's consent");
    await check.getByLabel("Patient's address").fill(PATIENT);
    await check.getByLabel("Category").selectOption("laboratory");
    await check.getByLabel("Purpose").selectOption("TREAT");
    await check.getByRole("button", { name: "Check" }).click();
    await check
      .locator(".check-result", { hasText: "Yes: you may access laboratory results for treatment now." })
      .waitFor();
    await check.getByLabel("Purpose").selectOption("HRESCH");
    await check.getByRole("button", { name: "Check" }).click();
    await check
      .locator(".check-result", {
        hasText:
          "No: you may not access laboratory results for healthcare research, because your consent covers treatment, not healthcare research.",
      })
      .waitFor();
  });

  it("records an access, anchors a record and a batch, and opens emergency access", async () => {
    await front(clinic);
    const access = section(clinic, "Record an access");
    await access.getByLabel("Patient's address").fill(PATIENT);
    await access.getByLabel("Category").selectOption("laboratory");
    await access.getByRole("button", { name: "Record the access" }).click();
    await confirmed(clinic, "Record access: access laboratory results for treatment");

    const anchor = section(clinic, "Anchor a record for a patient");
    await anchor.getByLabel("Patient's address").fill(PATIENT);
    await anchor.getByLabel("Category").selectOption("laboratory");
    await anchor.getByLabel("Record file").setInputFiles({
      name: "clinic-note.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("synthetic clinic note v1"),
    });
    await anchor.getByRole("button", { name: "Anchor the fingerprint" }).click();
    await confirmed(clinic, "Anchor clinic-note.txt");

    const folder = path.join(downloads, "batch");
    fs.mkdirSync(folder);
    for (const n of [1, 2, 3]) fs.writeFileSync(path.join(folder, `result-${n}.txt`), `synthetic result ${n}`);
    const batch = section(clinic, "Anchor a batch");
    await batch.getByLabel("Patient's address").fill(PATIENT);
    await batch.getByLabel("Folder of records").setInputFiles(folder);
    const [proofs] = await Promise.all([
      clinic.waitForEvent("download"),
      batch.getByRole("button", { name: "Hash, save the proofs, anchor the root" }).click(),
    ]);
    const proofsFile = path.join(downloads, proofs.suggestedFilename());
    await proofs.saveAs(proofsFile);
    expect(JSON.parse(fs.readFileSync(proofsFile, "utf8")).items).to.have.length(3);
    await confirmed(clinic, "Anchor a batch of 3 records");
    expect(await batch.locator("progress").getAttribute("value")).to.equal("3");

    const emergency = section(clinic, "Emergency access (break-glass)");
    await emergency.getByLabel("Patient's address").fill(PATIENT);
    await emergency.getByLabel("Clinical reason").fill("unconscious on arrival");
    await emergency.getByRole("button", { name: "Open emergency access" }).click();
    await confirmed(clinic, "Open emergency access");
    await audit(clinic, "3-clinic");
  });

  it("the patient sees the open break-glass window with its remaining time, and closes it", async () => {
    await front(patient);
    await patient.getByRole("button", { name: "My consents (patient)" }).click();
    await settled(patient);
    const signedStates = await section(patient, "Give a consent").locator(".signed-item .badge").allTextContents();
    expect(signedStates).to.deep.equal(Array(2).fill("submitted (or replaced by a later decision)"));
    const glass = section(patient, "Emergency access (break-glass)");
    const open = glass.locator("li", { hasText: "City Clinic has emergency access:" });
    await open.waitFor();
    expect(await open.textContent()).to.match(/23 hours 59 minutes left|1 day left/);
    await glass.getByRole("button", { name: "Close City Clinic's emergency access" }).click();
    await confirmed(patient, "Close City Clinic's emergency access");
    await section(patient, "Emergency access (break-glass)").getByText("No emergency window is open.").waitFor();
  });

  it("anchors a file's fingerprint and a corrected version (a version chain), and verifies files in the browser", async () => {
    await front(patient);
    const records = section(patient, "Records");
    const report = {
      name: "lab-report.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("synthetic lab report: HbA1c 5.4%"),
    };
    await records.getByLabel("Category", { exact: true }).selectOption("laboratory");
    await records.getByLabel("File to anchor").setInputFiles(report);
    await records.getByRole("button", { name: "Anchor the fingerprint" }).click();
    await confirmed(patient, "Anchor the fingerprint of lab-report.txt");
    const fresh = section(patient, "Records");
    await fresh.getByLabel("Verify a file").setInputFiles(report);
    await fresh
      .locator(".verify-result", { hasText: "Yes: lab-report.txt is exactly the record anchored on" })
      .waitFor();
    await fresh
      .getByLabel("Verify a file")
      .setInputFiles({ ...report, buffer: Buffer.from("synthetic lab report: HbA1c 5.5%") });
    await fresh
      .locator(".verify-result", { hasText: "No: lab-report.txt is not a record anchored for this patient." })
      .waitFor();
    const corrected = {
      ...report,
      name: "lab-report-v2.txt",
      buffer: Buffer.from("synthetic lab report: HbA1c 5.3% (corrected)"),
    };
    await fresh.getByLabel("Replaces (a corrected version of)").selectOption({ index: 2 });
    await fresh.getByLabel("File to anchor").setInputFiles(corrected);
    await fresh.getByRole("button", { name: "Anchor the fingerprint" }).click();
    await confirmed(patient, "Anchor the fingerprint of lab-report-v2.txt (laboratory results) as a new version");
    const chain = section(patient, "Records").locator(".records > li", { hasText: "Earlier version:" });
    expect(await chain.locator("p").allTextContents()).to.satisfy(
      (lines: string[]) => lines.length === 2 && lines[0].includes(": active.") && lines[1].includes(": superseded."),
    );
    expect(await fresh.locator(".records").textContent())
      .to.contain("anchored")
      .and.contain("by City Clinic");
  });

  const termEnds = `30 Jun ${new Date().getFullYear() + 1}`;

  it("appoints a guardian until a date", async () => {
    await front(patient);
    const guardians = section(patient, "Guardians (delegates)");
    await guardians.getByLabel("Guardian's address").fill(GUARDIAN);
    await guardians.getByLabel("Until (included)").fill(`${new Date().getFullYear() + 1}-06-30`);
    await guardians.getByRole("button", { name: "Appoint guardian" }).click();
    await confirmed(patient, "Appoint guardian");
    await section(patient, "Guardians (delegates)").getByText(`is your guardian until ${termEnds}`).waitFor();
  });

  it("the guardian picks the patient and acts for them; a refusal shows the SDK's sentence", async () => {
    await front(patient);
    await patient.evaluate(`window.__testAccounts.switch("test.patient", "${GUARDIAN}")`); // the wallet's other account
    await patient.locator(".role", { hasText: "Guardian" }).waitFor();
    await settled(patient);
    expect(await patient.locator(".role").textContent()).to.equal(
      `Role: Guardian (delegate) of ${SHORT_PATIENT} until ${termEnds}.`,
    );
    expect(
      await patient.getByRole("button", { name: "Act for a patient (guardian)" }).getAttribute("aria-pressed"),
    ).to.equal("true");
    const acting = section(patient, "Act for a patient");
    expect(await acting.getByLabel("Patient you act for").inputValue()).to.equal(PATIENT);
    expect(await acting.getByRole("note").textContent()).to.contain(
      `You are acting for ${SHORT_PATIENT}, as their guardian, until ${termEnds}`,
    );

    const give = section(patient, `Give a consent for ${SHORT_PATIENT}`);
    await give.getByLabel("Provider", { exact: true }).selectOption("other");
    await give.getByLabel("Provider address").fill(GUARDIAN);
    await give.getByRole("button", { name: `Grant for ${SHORT_PATIENT} (you pay the fee)` }).click();
    const refused = patient.locator(".activity li.failed").first();
    await refused.waitFor({ timeout: TX_TIMEOUT });
    expect(await refused.textContent()).to.equal(
      `As guardian of ${SHORT_PATIENT}: Grant: ${SHORT_GUARDIAN} may access ${SHORT_PATIENT}'s health records of every category for treatment: failed. ` +
        `Delegate ${GUARDIAN} cannot grant, revoke or deny a consent to itself or to another key of its own provider, nor turn break-glass access on while it is an emergency provider: only the patient can.`,
    );

    await give.getByLabel("Provider", { exact: true }).selectOption(IMAGING);
    await give.getByLabel("Category of records").selectOption("vital-signs");
    expect(await give.locator(".preview").textContent()).to.match(
      new RegExp(`^Preview: Harbour Imaging will be able to access ${SHORT_PATIENT}'s vital signs for treatment until`),
    );
    await give.getByRole("button", { name: `Grant for ${SHORT_PATIENT} (you pay the fee)` }).click();
    const granted = `As guardian of ${SHORT_PATIENT}: Grant: Harbour Imaging may access ${SHORT_PATIENT}'s vital signs for treatment`;
    await confirmed(patient, granted);

    const deny = section(patient, `Deny a provider for ${SHORT_PATIENT}`);
    await deny.getByLabel("Provider to deny").selectOption(IMAGING);
    await deny.getByLabel("Category").selectOption("genomics");
    await deny.getByRole("button", { name: "Deny" }).click();
    await confirmed(patient, `As guardian of ${SHORT_PATIENT}: Deny Harbour Imaging genomic data`);

    const item = section(patient, `${SHORT_PATIENT}'s consents`).locator("li", {
      hasText: `Harbour Imaging may access ${SHORT_PATIENT}'s vital signs for treatment until`,
    });
    await item.getByRole("button", { name: "Revoke" }).click();
    await item.getByRole("button", { name: "Yes, revoke" }).click();
    await confirmed(patient, `As guardian of ${SHORT_PATIENT}: Revoke: Harbour Imaging may access`);

    await section(patient, `Emergency access (break-glass) for ${SHORT_PATIENT}`)
      .getByRole("button", { name: `Turn emergency access off for ${SHORT_PATIENT}` })
      .click();
    await confirmed(patient, `As guardian of ${SHORT_PATIENT}: Turn emergency access off for ${SHORT_PATIENT}`);
    const consents = await section(patient, `${SHORT_PATIENT}'s consents`).locator("li").allTextContents();
    expect(consents.join("\n")).to.contain(`Harbour Imaging could access ${SHORT_PATIENT}'s vital signs`);
    expect(consents.join("\n")).to.contain(`Harbour Imaging may not see any of ${SHORT_PATIENT}'s genomic data.`);
    const history = await section(patient, `Access history of ${SHORT_PATIENT}`).locator(".history").textContent();
    expect(history).to.contain("You, as guardian, gave Harbour Imaging a consent for vital signs (treatment).");
    expect(history).to.contain("You became the patient's guardian.");
    await audit(patient, "6-guardian");
  });

  it("back on the patient's account: the changes, attributed to the guardian in the history; removes the guardian", async () => {
    await front(patient);
    await patient.evaluate(`window.__testAccounts.switch("test.patient", "${PATIENT}")`);
    await patient.locator(".role", { hasText: "Role: Patient." }).waitFor();
    await settled(patient);
    const consents = (await section(patient, "Your consents").locator("li").allTextContents()).join("\n");
    expect(consents).to.contain("Harbour Imaging could access your vital signs for treatment");
    expect(consents).to.contain("Harbour Imaging may not see any of your genomic data");
    await section(patient, "Emergency access (break-glass)")
      .getByText("Emergency access is turned off: no provider can open an emergency window to your records.")
      .waitFor();
    const history = await section(patient, "Access history").locator(".history").textContent();
    for (const line of [
      `${SHORT_GUARDIAN}, your guardian, gave Harbour Imaging a consent for vital signs (treatment).`,
      `${SHORT_GUARDIAN}, your guardian, denied Harbour Imaging genomic data.`,
      `${SHORT_GUARDIAN}, your guardian, revoked Harbour Imaging's consent for vital signs.`,
      `${SHORT_GUARDIAN}, your guardian, turned emergency access off.`,
      `${SHORT_GUARDIAN} became your guardian.`,
    ])
      expect(history).to.contain(line);

    const fresh = section(patient, "Guardians (delegates)");
    await fresh.getByRole("button", { name: /Remove guardian/ }).click();
    await confirmed(patient, "Remove guardian");
    await section(patient, "Guardians (delegates)").getByText("You have no guardian.").waitFor();
  });

  it("revokes with confirmation; the clinic's refused action shows the readable error", async () => {
    await front(patient);
    const item = section(patient, "Your consents").locator("li", {
      hasText: "City Clinic may add to and access your laboratory results",
    });
    await item.getByRole("button", { name: "Revoke" }).click();
    await item.getByRole("button", { name: "Yes, revoke" }).click();
    await confirmed(patient, "Revoke: City Clinic may add to and access your laboratory results");
    const revoked = section(patient, "Your consents").locator("li", {
      hasText: "City Clinic could add to and access your laboratory results",
    });
    expect(await revoked.locator(".badge").textContent()).to.equal("revoked");

    await front(clinic);
    const access = section(clinic, "Record an access");
    await access.getByRole("button", { name: "Record the access" }).click();
    const failed = clinic.locator(".activity li.failed").first();
    await failed.waitFor({ timeout: TX_TIMEOUT });
    expect(await failed.textContent()).to.match(
      /Record access: access laboratory results for treatment: failed\. 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC is not authorised to access category laboratory of patient 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 for purpose TREAT right now\./,
    );
  });

  it("revokes everything after a clear warning", async () => {
    await front(patient);
    const all = section(patient, "Revoke everything");
    await all.getByRole("button", { name: "Revoke everything" }).click();
    expect(await all.getByRole("alert").textContent()).to.contain(
      "also cancels every signed consent that a clinic has not submitted yet",
    );
    await all.getByRole("button", { name: "Yes, revoke everything" }).click();
    await confirmed(patient, "Revoke everything");
    const badges = section(patient, "Your consents").locator(".badge");
    await until(async () => (await badges.allTextContents()).filter((b) => b === "revoked").length === 4);
    expect((await badges.allTextContents()).sort()).to.deep.equal([
      "denied",
      "revoked",
      "revoked",
      "revoked",
      "revoked",
    ]);
  });

  it("shows the access history and downloads it as FHIR AuditEvent JSON", async () => {
    await front(patient);
    const history = section(patient, "Access history");
    const text = await history.locator(".history").textContent();
    expect(text).to.contain("City Clinic accessed your laboratory results for treatment");
    expect(text).to.contain("City Clinic opened emergency access (break-glass)");
    expect(text).to.contain("You closed City Clinic's emergency access");
    expect(text).to.contain("You revoked every consent");
    const [download] = await Promise.all([
      patient.waitForEvent("download"),
      history.getByRole("link", { name: "Download as FHIR AuditEvent JSON" }).click(),
    ]);
    const file = path.join(downloads, "audit.json");
    await download.saveAs(file);
    const bundle = JSON.parse(fs.readFileSync(file, "utf8")) as {
      resourceType: string;
      entry: { resource: { resourceType: string } }[];
    };
    expect(bundle.resourceType).to.equal("Bundle");
    expect(bundle.entry.length).to.be.greaterThan(5);
    expect(bundle.entry.every((e) => e.resource.resourceType === "AuditEvent")).to.equal(true);
    await audit(patient, "4-patient-after");
  });

  it("detects a wrong network and switches back", async () => {
    await front(patient);
    await patient.evaluate("window.__testChain.set('0x1')");
    await patient.getByRole("heading", { name: "Wrong network" }).waitFor();
    expect(await patient.getByRole("alert").first().textContent()).to.contain(
      "Your wallet is on Ethereum (chain id 1)",
    );
    await audit(patient, "5-wrong-network");
    await patient.getByRole("button", { name: "Switch to Local development chain (chain 31337)" }).click();
    await section(patient, "Your consents").waitFor();
  });
});
