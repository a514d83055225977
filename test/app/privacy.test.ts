/**
 * The portal's privacy mode in a real browser (issue 15), on its own `npm run app` stack: the patient (dev account
 * 1) turns privacy mode on from the wallet alone, signs a private consent through a pseudonym for City Clinic and
 * grants one privately from the main account to Harbour Imaging; the clinic submits the signed file, checks, records
 * an access and anchors a salted record encrypted to the pseudonym; the patient lists everything by name, verifies
 * the record with its salt, opens the encrypted copy, and revokes everything across every relationship: first with
 * no relayer (each provider gets its own signed revocations), then through a relayer wallet. Then, from the node's blocks, transactions and logs only: no public category id, and no
 * transaction naming both the main account and the pseudonym. Last, the backup path for wallets that do not sign
 * deterministically.
 *
 * Skipped, with the reason printed, when Chromium is not installed (`.ci/run` installs it).
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, sha256 } from "ethers";
import type { BrowserContext, Download, Page } from "playwright-core";

import { CATEGORY_CODES, PatientPrivacy, categoryId, connect, parseRecordSalt, saltedContentHash } from "../../src";
import {
  ACCOUNT,
  CHROMIUM,
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

const { patient: PATIENT, clinic: CLINIC, imaging: IMAGING, relayer: RELAYER } = ACCOUNT;
const LAB_REPORT = Buffer.from("synthetic private lab report: ferritin 41 ug/L");
const PRIVACY_TAB = "Privacy mode (patient)";

describe("Web portal in Chromium: privacy mode", function () {
  this.timeout(180_000);
  this.bail(true); // each step builds on the one before

  let portal: Portal | undefined;
  let stack: Stack;
  let context: BrowserContext;
  let patient: Page;
  let clinic: Page;
  let downloads: string;
  let node: JsonRpcProvider;
  let pseudonymForClinic: string;
  let signedText = "";
  let signedNotesText = "";
  let receiptText = "";
  const saved = new Map<string, string>();
  const gate = new SendGate();

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    Skipping the portal privacy test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
      this.skip();
    }
    portal = await startPortal([testWallet("patient", 1), testWallet("clinic", 2), testWallet("relayer", 3)], gate);
    ({ stack, context, downloads } = portal);
    node = new JsonRpcProvider(stack.rpcUrl, 31337, { staticNetwork: true });
    patient = await openPage(context, "patient");
    clinic = await openPage(context, "clinic");
    for (const page of [patient, clinic]) page.on("download", (d) => void keepDownload(d));
    // What the patient's wallet derives, computed here from the same node: the pseudonym the clinic must see.
    const asPatient = connect(await node.getSigner(PATIENT), stack.deployment);
    pseudonymForClinic = (await PatientPrivacy.fromWallet(asPatient)).pseudonym(CLINIC).address;
  });

  after(async () => {
    node?.destroy();
    await portal?.stop();
  });

  /** Every download of the pages, by suggested file name. */
  async function keepDownload(download: Download): Promise<void> {
    const file = path.join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    saved.set(download.suggestedFilename(), file);
  }

  async function savedFile(name: string): Promise<string> {
    await until(async () => saved.has(name));
    return saved.get(name) as string;
  }

  async function openPrivacyTab(): Promise<void> {
    await patient.getByRole("button", { name: PRIVACY_TAB }).click();
    await settled(patient);
  }

  it("turns privacy mode on from the wallet alone and lists a pseudonym for every provider", async () => {
    await front(patient);
    await connectWallet(patient, stack.url, "Test Wallet (patient)");
    await openPrivacyTab();
    await section(patient, "Privacy mode").waitFor();
    await audit(patient, "privacy-1-off");
    await patient.getByRole("button", { name: /^Turn privacy mode on/ }).click();
    const on = section(patient, "Privacy mode is on");
    await on.waitFor();
    expect(await on.locator(".pseudonyms li").allTextContents()).to.deep.equal([
      `Your main account: ${PATIENT}`,
      `Towards City Clinic: ${pseudonymForClinic}`,
      `Towards Harbour Imaging: ${await pseudonymTowards(IMAGING)}`,
    ]);
    await section(patient, "Your private consents").getByText("No private consent yet.").waitFor();
  });

  async function pseudonymTowards(provider: string): Promise<string> {
    const asPatient = connect(await node.getSigner(PATIENT), stack.deployment);
    return (await PatientPrivacy.fromWallet(asPatient)).pseudonym(provider).address;
  }

  it("signs a private consent through the pseudonym; its file carries the clinic's relationship key only", async () => {
    await front(patient);
    const give = section(patient, "Give a private consent");
    await give.getByLabel("Provider", { exact: true }).selectOption(CLINIC);
    await give.getByLabel("Category of records").selectOption("laboratory");
    await give.getByLabel("add to (collect)").check();
    expect(await give.getByLabel(/Through my pseudonym/).isChecked()).to.equal(true);
    await give.getByRole("button", { name: "Sign privately for the clinic to submit (no fee)" }).click();
    signedText = await give.getByLabel("Private signed consent for City Clinic, as text to copy").inputValue();
    const signed = JSON.parse(signedText) as {
      request: { patient: string; grantee: string; category: string };
      relationship: { patient: string; grantee: string; key: string };
      categoryCode: string;
    };
    expect(signed.request.patient).to.equal(pseudonymForClinic);
    expect(signed.request.grantee).to.equal(CLINIC);
    expect(signed.request.category).to.not.equal(categoryId("laboratory"));
    expect(signed.relationship).to.include({ patient: pseudonymForClinic, grantee: CLINIC });
    expect(signed.categoryCode).to.equal("laboratory");
    expect(
      await give
        .getByRole("figure", { name: "QR code of the private signed consent for City Clinic" })
        .locator("img")
        .count(),
    ).to.equal(1);
    // A second one for the same clinic: the same pseudonym, another private category.
    await give.getByLabel("Category of records").selectOption("clinical-notes");
    await give.getByLabel("add to (collect)").uncheck();
    await give.getByRole("button", { name: "Sign privately for the clinic to submit (no fee)" }).click();
    signedNotesText = await give
      .getByLabel("Private signed consent for City Clinic, as text to copy (2 of 2)")
      .inputValue();
    expect(
      await give.getByLabel("Private signed consent for City Clinic, as text to copy (1 of 2)").inputValue(),
    ).to.equal(signedText);
    expect(JSON.parse(signedNotesText).request.patient).to.equal(pseudonymForClinic);
    expect(await give.locator(".signed-item .badge").allTextContents()).to.deep.equal(
      Array(2).fill("waiting to be submitted"),
    );
  });

  it("refuses a direct grant through a pseudonym, and grants privately from the main account with a receipt", async () => {
    await front(patient);
    const give = section(patient, "Give a private consent");
    await give.getByLabel("Provider", { exact: true }).selectOption("other");
    await give.getByLabel("Provider address").fill(RELAYER);
    await give.getByRole("button", { name: "Sign privately for the clinic to submit (no fee)" }).click();
    await give
      .locator("p.status", {
        hasText: "is not a registered provider, and pseudonyms are made for registered providers only",
      })
      .waitFor();
    await give.getByLabel("Provider", { exact: true }).selectOption(IMAGING);
    await give.getByLabel("Category of records").selectOption("imaging");
    await give.getByLabel("add to (collect)").uncheck();
    await give.getByRole("button", { name: "Grant privately from my main account (you pay the fee)" }).click();
    await give
      .locator("p.status", { hasText: "A pseudonym never sends a transaction (paying its fee would link it to you)" })
      .waitFor();
    await give.getByLabel(/Through my pseudonym/).uncheck();
    await give.getByRole("button", { name: "Grant privately from my main account (you pay the fee)" }).click();
    await confirmed(patient, "Grant privately: Harbour Imaging may access your imaging for treatment");
    receiptText = await section(patient, "Give a private consent")
      .getByLabel("Consent receipt for Harbour Imaging, as text to copy")
      .inputValue();
    const receipt = JSON.parse(receiptText) as {
      categoryId: string;
      relationship: { patient: string; grantee: string };
    };
    expect(receipt.relationship).to.include({ patient: PATIENT, grantee: IMAGING });
    expect(receipt.categoryId).to.not.equal(categoryId("imaging"));
    await audit(patient, "privacy-2-on");
  });

  it("the clinic refuses another clinic's receipt, then submits the private consent, checks and records an access", async () => {
    await front(clinic);
    await connectWallet(clinic, stack.url, "Test Wallet (clinic)");
    const mode = section(clinic, "Patients in privacy mode");
    await mode.getByLabel("Or paste the file's text").fill(receiptText);
    await mode.getByRole("button", { name: "Read the file" }).click();
    await mode
      .locator("p.status", { hasText: "This relationship is for 0x90F7…b906, not for you (0x3C44…93BC)" })
      .waitFor();
    await mode.getByText("You hold no relationship yet.").waitFor();

    await mode.getByLabel("Or paste the file's text").fill(signedText);
    await mode.getByRole("button", { name: "Read the file" }).click();
    expect(await mode.locator(".terms .sentence").textContent()).to.contain(
      `Patient ${pseudonymForClinic}: City Clinic may add to and access their laboratory results for treatment until`,
    );
    await mode.getByRole("button", { name: "Submit and pay the fee" }).click();
    await confirmed(clinic, /Submit the private consent of .* for laboratory results/);
    await mode.getByLabel("Or paste the file's text").fill(signedNotesText);
    await mode.getByRole("button", { name: "Read the file" }).click();
    await mode.getByRole("button", { name: "Submit and pay the fee" }).click();
    await confirmed(clinic, /Submit the private consent of .* for clinical notes/);
    expect(await mode.getByLabel("Patient in privacy mode").locator("option").count()).to.equal(1);
    expect(await mode.getByLabel("Patient in privacy mode").inputValue()).to.equal("0");
    expect(await mode.getByLabel("Patient in privacy mode").locator("option").textContent()).to.contain(
      pseudonymForClinic,
    );

    await mode.getByLabel("Category", { exact: true }).selectOption("laboratory");
    await mode.getByRole("button", { name: "Check privately" }).click();
    await mode
      .locator(".check-result", { hasText: "Yes: you may access laboratory results for treatment now." })
      .waitFor();
    await mode.getByLabel("Category", { exact: true }).selectOption("imaging");
    await mode.getByRole("button", { name: "Check privately" }).click();
    await mode
      .locator(".check-result", {
        hasText:
          "No: you may not access imaging for treatment, because the patient has given you no consent for imaging.",
      })
      .waitFor();
    await mode.getByLabel("Category", { exact: true }).selectOption("laboratory");
    await mode.getByRole("button", { name: "Record the access privately" }).click();
    await confirmed(clinic, "Record access privately: access laboratory results for treatment");
  });

  it("the clinic anchors a salted record, encrypted to the pseudonym; the salt is saved first", async () => {
    await front(clinic);
    const mode = section(clinic, "Patients in privacy mode");
    await mode.getByLabel("Category of the record").selectOption("laboratory");
    await mode
      .getByLabel("Private record file")
      .setInputFiles({ name: "ferritin.txt", mimeType: "text/plain", buffer: LAB_REPORT });
    await mode.getByRole("button", { name: "Save the salt and anchor the salted fingerprint" }).click();
    await confirmed(clinic, "Anchor ferritin.txt privately (laboratory results)");
    const salt = parseRecordSalt(fs.readFileSync(await savedFile("ferritin.txt.salt.json"), "utf8"));
    expect(salt.patient).to.equal(pseudonymForClinic);
    expect(salt.contentHash).to.equal(saltedContentHash(LAB_REPORT, salt.salt));
    const records = connect(node, stack.deployment).records;
    expect((await records.verify(pseudonymForClinic, salt.contentHash))[0]).to.equal(true);
    expect((await records.verify(pseudonymForClinic, sha256(LAB_REPORT)))[0]).to.equal(false);
    const sealed = fs.readFileSync(await savedFile("ferritin.txt.ecies"));
    expect(sealed.includes(LAB_REPORT)).to.equal(false);
    await audit(clinic, "privacy-3-clinic");
  });

  it("the patient lists consents, the access and the record by name, across the main account and the pseudonym", async () => {
    await openPrivacyTab();
    await front(patient);
    const consents = section(patient, "Your private consents");
    const lab = consents.locator("li", {
      hasText: `City Clinic may add to and access your laboratory results for treatment until`,
    });
    expect(await lab.textContent()).to.contain(
      `as your pseudonym towards City Clinic (${pseudonymForClinic.slice(0, 6)}…${pseudonymForClinic.slice(-4)})`,
    );
    expect(await lab.locator(".badge").textContent()).to.equal("active");
    expect(await lab.textContent()).to.not.contain("public on the chain");
    const imaging = consents.locator("li", { hasText: "Harbour Imaging may access your imaging for treatment until" });
    expect(await imaging.textContent()).to.contain("as your main account.");
    const activity = section(patient, "Accesses, records and emergency access, by name");
    expect(await activity.textContent())
      .to.contain("City Clinic accessed your laboratory results for treatment, as your pseudonym towards City Clinic")
      .and.contain("Laboratory results: a record anchored by City Clinic for your pseudonym towards City Clinic");
    const notes = consents.locator("li", { hasText: "City Clinic may access your clinical notes for treatment until" });
    expect(await notes.locator(".badge").textContent()).to.equal("active");
    expect(
      await section(patient, "Give a private consent").locator(".signed-item .badge").allTextContents(),
    ).to.deep.equal(Array(2).fill("submitted (or replaced by a later decision)"));
  });

  it("the clinic forgets a relationship (after a warning), and takes it back from the file the patient gives again", async () => {
    await front(patient);
    const [download] = await Promise.all([
      patient.waitForEvent("download"),
      section(patient, "Your private consents")
        .locator("li", { hasText: "clinical notes" })
        .getByRole("button", { name: "Relationship file for City Clinic" })
        .click(),
    ]);
    const file = path.join(downloads, `again-${download.suggestedFilename()}`);
    await download.saveAs(file);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).to.include({
      kind: "consent-anchor/relationship",
      patient: pseudonymForClinic,
      grantee: CLINIC,
    });

    await front(clinic);
    const mode = section(clinic, "Patients in privacy mode");
    await mode.getByRole("button", { name: "Forget this relationship in this browser" }).click();
    expect(await mode.getByRole("alert").textContent()).to.contain(
      "you can no longer name this patient's private categories",
    );
    await mode.getByRole("button", { name: "Yes, forget it" }).click();
    await mode.getByText("You hold no relationship yet.").waitFor();
    await mode.getByLabel("Privacy-mode file").setInputFiles(file);
    await mode.locator("p.status", { hasText: `Kept the relationship with patient ${pseudonymForClinic}.` }).waitFor();
    await mode.getByLabel("Category", { exact: true }).selectOption("clinical-notes");
    await mode.getByRole("button", { name: "Check privately" }).click();
    await mode.locator(".check-result", { hasText: "Yes: you may access clinical notes for treatment now." }).waitFor();
  });

  it("verifies the record with its salt (not without), and opens the copy encrypted to the pseudonym", async () => {
    await front(patient);
    const verify = section(patient, "Verify a private record with its salt");
    await verify
      .getByLabel("Record file to verify")
      .setInputFiles({ name: "ferritin.txt", mimeType: "text/plain", buffer: LAB_REPORT });
    await verify.getByLabel("Its salt file").setInputFiles(await savedFile("ferritin.txt.salt.json"));
    await verify
      .locator(".verify-result", { hasText: "Yes: ferritin.txt with this salt is the record anchored on" })
      .waitFor();
    await verify.getByLabel("Record file to verify").setInputFiles({
      name: "guess.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("synthetic private lab report: ferritin 40 ug/L"),
    });
    await verify
      .locator(".verify-result", { hasText: "No: guess.txt with this salt is not a record anchored" })
      .waitFor();

    const open = section(patient, "Open a record encrypted to you");
    await open.getByLabel("Encrypted record").setInputFiles(await savedFile("ferritin.txt.ecies"));
    expect(fs.readFileSync(await savedFile("ferritin.txt"))).to.deep.equal(LAB_REPORT);
    await open.locator("p.status", { hasText: "encrypted to your pseudonym towards City Clinic" }).waitFor();
  });

  it("without a relayer, a pseudonym's revocation is a file for its provider, which submits it", async () => {
    await front(patient);
    const notes = section(patient, "Your private consents").locator("li", { hasText: "clinical notes" });
    await notes.getByRole("button", { name: "Revoke" }).click();
    expect(await notes.getByRole("alert").textContent()).to.contain("each provider submits it");
    await notes.getByRole("button", { name: "Yes, revoke" }).click();
    const handed = section(patient, "Signed revocations to give");
    const text = await handed.getByLabel("Signed revocations for City Clinic, as text to copy").inputValue();
    const revocations = JSON.parse(text) as { request: { patient: string; grantee: string; category: string } }[];
    expect(revocations.map((r) => r.request)).to.deep.equal([
      { patient: pseudonymForClinic, grantee: CLINIC, category: JSON.parse(signedNotesText).request.category },
    ]);
    expect(await handed.textContent()).to.match(/for City Clinic to submit until/);

    await front(clinic);
    const mode = section(clinic, "Patients in privacy mode");
    await mode.getByLabel("Or paste the file's text").fill(text);
    await mode.getByRole("button", { name: "Read the file" }).click();
    expect(await mode.locator(".terms .sentence").textContent()).to.contain(
      "1 signed revocation of consents given to City Clinic",
    );
    await mode.getByRole("button", { name: "Submit the revocations and pay the fee" }).click();
    await confirmed(clinic, "Submit 1 signed revocation");
    await openPrivacyTab();
    const revoked = section(patient, "Your private consents").locator("li", { hasText: "clinical notes" });
    expect(await revoked.locator(".badge").textContent()).to.equal("revoked");
  });

  it("revokes everything in one action: the main account with one transaction of its own, the pseudonym's by the relayer", async () => {
    const fromBlock = (await node.getBlockNumber()) + 1;
    await front(patient);
    await section(patient, "Relayer for your pseudonyms")
      .getByLabel("Who submits the revocations")
      .selectOption({ label: "Test Wallet (relayer)" });
    const all = section(patient, "Revoke everything, across every relationship");
    await all.getByRole("button", { name: "Revoke everything, across every relationship" }).click();
    expect(await all.getByRole("alert").textContent()).to.contain(
      "Test Wallet (relayer) submits each in its own transaction",
    );
    await all.getByRole("button", { name: "Yes, revoke everything" }).click();
    await confirmed(patient, "Revoke everything of your main account");
    await confirmed(patient, /Revoke 1 consent of your pseudonyms, submitted by Test Wallet \(relayer\)/);
    await until(async () => {
      const badges = await section(patient, "Your private consents").locator(".badge").allTextContents();
      return badges.length === 3 && badges.every((b) => b === "revoked");
    });
    const senders: string[] = [];
    for (let n = fromBlock; n <= (await node.getBlockNumber()); n++) {
      const block = await node.getBlock(n, true);
      senders.push(...(block?.prefetchedTransactions ?? []).map((tx) => tx.from));
    }
    expect(senders).to.deep.equal([PATIENT, RELAYER]);
  });

  it("leaves on the chain no public category id, and no transaction naming both the patient and the pseudonym", async () => {
    const publicIds = new Set(CATEGORY_CODES.map((code) => categoryId(code).toLowerCase()));
    const main = PATIENT.slice(2).toLowerCase();
    const pseudonym = pseudonymForClinic.slice(2).toLowerCase();
    const latest = await node.getBlockNumber();
    let pseudonymTransactions = 0;
    for (let n = 0; n <= latest; n++) {
      const block = await node.getBlock(n, true);
      for (const tx of block?.prefetchedTransactions ?? []) {
        const receipt = await node.getTransactionReceipt(tx.hash);
        const words = [tx.data, ...(receipt?.logs ?? []).flatMap((l) => [...l.topics, l.data])]
          .map((hex) => hex.slice(2).toLowerCase())
          .flatMap((hex) => hex.match(/.{1,64}/g) ?? []);
        for (const word of words)
          expect(publicIds.has(`0x${word}`), `block ${n} holds a public category id`).to.equal(false);
        const text = [tx.from, tx.data, ...(receipt?.logs ?? []).flatMap((l) => [...l.topics, l.data])]
          .join("")
          .toLowerCase();
        if (text.includes(pseudonym)) {
          pseudonymTransactions += 1;
          expect(text.includes(main), `transaction ${tx.hash} names both accounts`).to.equal(false);
        }
      }
    }
    // Two consents, the access, the record, and two revocations (the clinic's and the relayer's).
    expect(pseudonymTransactions).to.equal(6);
  });

  it("for wallets that sign differently each time: creates a secret with a backup, and restores it (not with a wrong passphrase)", async () => {
    await front(patient);
    await section(patient, "Privacy mode is on")
      .getByRole("button", { name: /^Turn privacy mode off/ })
      .click();
    const setup = section(patient, "For wallets that sign differently each time");
    await setup.getByLabel("Passphrase", { exact: true }).fill("correct horse battery");
    await setup.getByLabel("The same passphrase again").fill("correct horse batterie");
    await setup.getByRole("button", { name: "Create the secret and download its encrypted backup" }).click();
    await setup.locator("p.status", { hasText: "The two passphrases differ" }).waitFor();
    await setup.getByLabel("The same passphrase again").fill("correct horse battery");
    await setup.getByRole("button", { name: "Create the secret and download its encrypted backup" }).click();
    const backup = await savedFile(`consent-anchor-privacy-backup-${PATIENT.slice(2, 8).toLowerCase()}.json`);
    await setup.getByLabel("Saved backup file, to check").setInputFiles({
      name: "another.json",
      mimeType: "application/json",
      buffer: Buffer.from("{}"),
    });
    await setup
      .locator("p.status", { hasText: "another.json is not the backup just made" })
      .waitFor({ timeout: 60_000 });
    await setup.getByLabel("Saved backup file, to check").setInputFiles(backup);
    const created = section(patient, "Privacy mode is on").locator(".pseudonyms li", {
      hasText: "Towards City Clinic",
    });
    await created.waitFor({ timeout: 60_000 });
    const createdText = await created.textContent();
    expect(createdText).to.not.contain(pseudonymForClinic); // a random secret, not the wallet's

    await section(patient, "Privacy mode is on")
      .getByRole("button", { name: /^Turn privacy mode off/ })
      .click();
    const restore = section(patient, "For wallets that sign differently each time");
    await restore.getByLabel("Backup file").setInputFiles(backup);
    await restore.getByLabel("Passphrase of the backup").fill("wrong horse battery");
    await restore.getByRole("button", { name: "Restore from the backup" }).click();
    await restore
      .locator("p.status", { hasText: "Cannot decrypt the secret backup: wrong passphrase, or the file was altered" })
      .waitFor({ timeout: 60_000 });
    await restore.getByLabel("Passphrase of the backup").fill("correct horse battery");
    await restore.getByRole("button", { name: "Restore from the backup" }).click();
    const restored = section(patient, "Privacy mode is on").locator(".pseudonyms li", {
      hasText: "Towards City Clinic",
    });
    await restored.waitFor({ timeout: 60_000 });
    expect(await restored.textContent()).to.equal(createdText);
  });
});
