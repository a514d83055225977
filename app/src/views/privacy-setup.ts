/**
 * Turning privacy mode on: the secret from the wallet alone (it signs a fixed message twice), or, for a wallet whose
 * signatures differ each time (many smart accounts), a random secret created once and kept as an encrypted backup
 * file, restored later with its passphrase. The secret stays in this page's memory: never stored, never sent.
 */
import { download, field, fileBytes, h, replace, section, statusLine } from "../dom";
import {
  NonDeterministicWalletError,
  PatientPrivacy,
  createRandomSecret,
  exportSecretBackup,
  restoreSecretBackup,
} from "../sdk";
import type { Session } from "../session";
import { attempt } from "../tx";
import { dropZone } from "./records";

/** Privacy mode of each connected account (chain and address), for as long as the page is open. */
const open = new Map<string, PatientPrivacy>();
const keyOf = (session: Session) => `${session.chainId}:${session.account.toLowerCase()}`;

/** The account's privacy mode, when it was turned on in this page. */
export function privacyOf(session: Session): PatientPrivacy | undefined {
  return open.get(keyOf(session));
}

/** Forgets the secret (privacy mode off in this page). */
export function closePrivacy(session: Session): void {
  open.delete(keyOf(session));
}

const MIN_PASSPHRASE = 12;

/** The view while privacy mode is off: what it does, and the ways to turn it on. */
export function privacySetup(session: Session): HTMLElement {
  const { client, account } = session;
  const turnOn = async (privacy: PatientPrivacy) => {
    open.set(keyOf(session), privacy);
    await session.refresh();
  };

  const walletStatus = statusLine();
  const fromWallet = async () => {
    walletStatus.textContent =
      "Sign the message in your wallet, twice (no fee): the portal checks that your wallet signs it the same way each time…";
    const privacy = await attempt(walletStatus, async () => {
      try {
        return await PatientPrivacy.fromWallet(client);
      } catch (error) {
        if (error instanceof NonDeterministicWalletError) {
          throw new Error(
            "Your wallet signed the message differently the second time (a smart account?), so it cannot make the secret by itself: create a secret below and keep its backup file.",
          );
        }
        throw error;
      }
    });
    if (privacy) await turnOn(privacy);
  };

  // --- A new random secret, kept as an encrypted backup ---
  const pass = h("input", { type: "password", name: "backup-passphrase", autocomplete: "new-password" });
  const again = h("input", { type: "password", name: "backup-passphrase-again", autocomplete: "new-password" });
  const createStatus = statusLine();
  const create = async () => {
    const made = await attempt(createStatus, async () => {
      if (pass.value.length < MIN_PASSPHRASE)
        throw new Error(`Choose a passphrase of at least ${MIN_PASSPHRASE} characters`);
      if (pass.value !== again.value) throw new Error("The two passphrases differ: type the same one twice");
      createStatus.textContent = "Encrypting the backup (this takes a few seconds, on purpose)…";
      const secret = createRandomSecret();
      const backup = await exportSecretBackup(secret, pass.value);
      return { secret, backup };
    });
    if (!made) return;
    // The secret is used only once its backup is saved and read back: nothing signed with it is without its backup.
    const passphrase = pass.value;
    pass.value = "";
    again.value = "";
    download(
      `consent-anchor-privacy-backup-${account.slice(2, 8).toLowerCase()}.json`,
      JSON.stringify(made.backup, null, 2),
    );
    createStatus.textContent = "The backup file was offered for download. Now choose the file you saved, to check it.";
    replace(
      checkHost,
      dropZone("Saved backup file, to check", async (file) => {
        const checked = await attempt(createStatus, async () => {
          createStatus.textContent = "Checking the saved backup (a few seconds)…";
          const text = new TextDecoder().decode(await fileBytes(file));
          let restored: string;
          try {
            restored = await restoreSecretBackup(text, passphrase);
          } catch {
            throw new Error(`${file.name} is not the backup just made: choose the file you saved a moment ago`);
          }
          if (restored !== made.secret)
            throw new Error(`${file.name} holds another secret: choose the file you just saved`);
          return true;
        });
        if (checked) await turnOn(PatientPrivacy.fromSecret(made.secret, client, account));
      }),
    );
  };
  const checkHost = h("div", {});

  // --- Restore ---
  const restoreStatus = statusLine();
  const restorePass = h("input", { type: "password", name: "restore-passphrase", autocomplete: "current-password" });
  let backupText: string | undefined;
  const backupZone = dropZone("Backup file", async (file) => {
    backupText = new TextDecoder().decode(await fileBytes(file));
    replace(restoreStatus, `${file.name} is ready: give its passphrase.`);
  });
  const restore = async () => {
    const secret = await attempt(restoreStatus, async () => {
      if (!backupText) throw new Error("Choose the backup file first");
      if (!restorePass.value) throw new Error("Give the backup's passphrase");
      restoreStatus.textContent = "Decrypting the backup (this takes a few seconds, on purpose)…";
      return restoreSecretBackup(backupText, restorePass.value);
    });
    if (!secret) return;
    restorePass.value = "";
    await turnOn(PatientPrivacy.fromSecret(secret, client, account));
  };

  return h(
    "div",
    { class: "privacy" },
    section(
      "Privacy mode",
      h(
        "p",
        {},
        "In privacy mode, no one reading the chain can tell which category of records your consents, accesses and records are about, " +
          "and you can appear to each clinic under a different account of yours (a pseudonym) that nothing on the chain links to you. " +
          "Records a clinic anchors from its privacy section are salted, so a guessed file cannot be confirmed.",
      ),
      h(
        "p",
        {},
        "Everything comes from one secret, made by your wallet signing a fixed message. The portal keeps it in this page's memory only, " +
          "until you close the page or turn privacy mode off. Anyone with that signature could act for your pseudonyms: sign it only here.",
      ),
      h(
        "p",
        { class: "hint" },
        "What the chain still shows: that some account consented to a named provider, when, and who paid the fee (docs/privacy.md).",
      ),
      h(
        "button",
        { type: "button", class: "primary", onclick: () => void fromWallet() },
        "Turn privacy mode on (your wallet signs a message twice; no fee)",
      ),
      walletStatus,
    ),
    section(
      "For wallets that sign differently each time",
      h(
        "p",
        {},
        "Smart-account wallets may not make the same signature twice. Create a secret instead, kept in a backup file encrypted with a passphrase. " +
          "Keep the file and the passphrase: without them you can no longer name your private consents or find your pseudonyms, " +
          "and consents given through pseudonyms then run until they end.",
      ),
      h("h3", {}, "Create a secret"),
      field(
        "Passphrase",
        pass,
        `At least ${MIN_PASSPHRASE} characters. The backup is downloaded; privacy mode turns on once you give the saved file back, to check it.`,
      ),
      field("The same passphrase again", again),
      h(
        "button",
        { type: "button", onclick: () => void create() },
        "Create the secret and download its encrypted backup",
      ),
      createStatus,
      checkHost,
      h("h3", {}, "Restore a secret"),
      backupZone,
      field("Passphrase of the backup", restorePass),
      h("button", { type: "button", onclick: () => void restore() }, "Restore from the backup"),
      restoreStatus,
    ),
  );
}
