/**
 * The portal's entry: discovers wallets (EIP-6963), connects one, finds the deployment of its chain (or offers to
 * switch), tells the account's role, and shows the patient or the clinic view.
 */
import "./style.css";
import { BrowserProvider, getAddress } from "ethers";

import { Directory, capabilityWords, statusName } from "./directory";
import { chainName, loadDeployments } from "./deployments";
import { h, replace, section, statusLine } from "./dom";
import { ProviderStatus, connect, type Deployment } from "./sdk";
import { delegations, type Session } from "./session";
import { activityFor, activityList, errorText } from "./tx";
import { discoverWallets, type DiscoveredWallet } from "./wallets";
import { day, shortHex } from "./words";
import { patientView } from "./views/patient";
import { providerView } from "./views/provider";
import { guardianView } from "./views/guardian";
import { privacyView } from "./views/privacy";

type ViewName = "patient" | "privacy" | "provider" | "guardian";

const VIEW_TITLES: Record<ViewName, string> = {
  patient: "My consents (patient)",
  privacy: "Privacy mode (patient)",
  provider: "Clinic tools (provider)",
  guardian: "Act for a patient (guardian)",
};

const root = document.getElementById("app") as HTMLElement;
const connectionBar = h("div", { class: "connection", role: "status", "aria-live": "polite" });
const content = h("div", { class: "content" });
let wallets: DiscoveredWallet[] = [];
let current: { wallet: DiscoveredWallet; view?: ViewName; detach?: () => void } | undefined;

replace(
  root,
  h(
    "header",
    {},
    h("h1", {}, "Consent Anchor"),
    h("p", { class: "tagline" }, "Who may see your health records, in plain words. You decide, from your wallet."),
    connectionBar,
  ),
  h("main", { id: "main" }, content),
  h(
    "aside",
    { "aria-labelledby": "activity-heading" },
    h("h2", { id: "activity-heading" }, "Transactions"),
    activityList(),
  ),
);

function showWalletPicker(): void {
  current?.detach?.();
  current = undefined;
  replace(connectionBar, "Not connected.");
  const list = h("ul", { class: "wallets" });
  const draw = () =>
    replace(
      list,
      wallets.length === 0
        ? h(
            "li",
            {},
            "No wallet found. Install a browser wallet extension (any EIP-1193 wallet), then reload this page.",
          )
        : wallets.map((wallet) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", onclick: () => void connectWallet(wallet) },
                wallet.info.icon ? h("img", { src: wallet.info.icon, alt: "", width: 20, height: 20 }) : null,
                ` Connect ${wallet.info.name}`,
              ),
            ),
          ),
    );
  draw();
  redrawPicker = draw;
  replace(
    content,
    section(
      "Connect a wallet",
      h(
        "p",
        {},
        "Pick the wallet that holds your account. The portal never sees your keys: your wallet asks you before anything is signed or sent.",
      ),
      list,
    ),
  );
}

let redrawPicker: (() => void) | undefined;
wallets = discoverWallets((found) => {
  wallets = found;
  redrawPicker?.();
});
showWalletPicker();

async function connectWallet(wallet: DiscoveredWallet, view?: ViewName): Promise<void> {
  current?.detach?.();
  const status = statusLine();
  replace(content, section("Connecting", status));
  replace(status, `Asking ${wallet.info.name} for your account…`);
  try {
    const accounts = (await wallet.provider.request({ method: "eth_requestAccounts" })) as string[];
    if (!accounts?.length) throw new Error(`${wallet.info.name} gave no account`);
    const chainId = Number(await wallet.provider.request({ method: "eth_chainId" }));
    const account = getAddress(accounts[0]);
    // Another chain keeps the view; another account gets its own role's view.
    const onChange = () => void connectWallet(wallet, current?.view ?? view);
    const onAccount = () => void connectWallet(wallet);
    wallet.provider.on?.("chainChanged", onChange);
    wallet.provider.on?.("accountsChanged", onAccount);
    current = {
      wallet,
      view,
      detach: () => {
        wallet.provider.removeListener?.("chainChanged", onChange);
        wallet.provider.removeListener?.("accountsChanged", onAccount);
      },
    };
    const deployments = await loadDeployments();
    const deployment = deployments.find((d) => d.chainId === chainId);
    if (!deployment) {
      showWrongNetwork(wallet, account, chainId, deployments);
      return;
    }
    await startSession(wallet, account, chainId, deployment, view);
  } catch (error) {
    status.classList.add("error");
    replace(
      content,
      section(
        "Could not connect",
        h("p", { class: "error", role: "alert" }, errorText(error)),
        h("button", { type: "button", onclick: showWalletPicker }, "Back to the wallets"),
      ),
    );
  }
}

function showWrongNetwork(wallet: DiscoveredWallet, account: string, chainId: number, deployments: Deployment[]): void {
  replace(
    connectionBar,
    `Connected with ${wallet.info.name} as ${shortHex(account)} on ${chainName(chainId)} (chain ${chainId}).`,
  );
  const status = statusLine();
  replace(
    content,
    section(
      "Wrong network",
      h(
        "p",
        { role: "alert", class: "warning" },
        `Your wallet is on ${chainName(chainId)} (chain id ${chainId}). The consent registries are not deployed there.`,
      ),
      deployments.length === 0
        ? h("p", {}, "This portal knows no deployment at all.")
        : h(
            "ul",
            { class: "networks" },
            deployments.map((d) =>
              h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    onclick: async () => {
                      try {
                        await wallet.provider.request({
                          method: "wallet_switchEthereumChain",
                          params: [{ chainId: `0x${d.chainId.toString(16)}` }],
                        });
                        await connectWallet(wallet, current?.view);
                      } catch (error) {
                        status.classList.add("error");
                        replace(status, errorText(error));
                      }
                    },
                  },
                  `Switch to ${chainName(d.chainId)} (chain ${d.chainId})`,
                ),
              ),
            ),
          ),
      status,
      h("button", { type: "button", onclick: showWalletPicker }, "Use another wallet"),
    ),
  );
}

async function startSession(
  wallet: DiscoveredWallet,
  account: string,
  chainId: number,
  deployment: Deployment,
  view: ViewName | undefined,
): Promise<void> {
  const browser = new BrowserProvider(wallet.provider, chainId, {
    staticNetwork: true, // a chain change rebuilds the session
    cacheTimeout: -1,
    pollingInterval: 1000,
  });
  activityFor(account);
  const signer = await browser.getSigner(account);
  // A build given VITE_INDEXER_URL reads history from that indexer (issue 16), else from the chain's logs.
  const indexer = import.meta.env.VITE_INDEXER_URL as string | undefined;
  const client = connect(signer, deployment, indexer ? { history: indexer } : {});
  const directory = new Directory(client);
  await directory.load();
  const viewHost = h("div", { class: "view" });
  const session: Session = {
    wallet,
    account,
    chainId,
    deployment,
    client,
    directory,
    now: () => client.latestTimestamp(),
    refresh: async () => {
      await busy(async () => {
        await directory.load();
        await draw();
      });
    },
    wallets: () => wallets,
  };
  const guarded = await delegations(session, { delegate: account });
  const role = await describeRole(session, guarded);
  replace(
    connectionBar,
    h("span", {}, `Connected with ${wallet.info.name} as `, h("code", {}, account), ` on ${chainName(chainId)}. `),
    h("span", { class: "role" }, role),
    " ",
    h("button", { type: "button", class: "small", onclick: showWalletPicker }, "Disconnect"),
  );
  const isProvider =
    directory.get(account) !== undefined || (await client.providerStatus(account)).status !== ProviderStatus.None;
  const names: ViewName[] =
    guarded.length > 0 ? ["patient", "privacy", "guardian", "provider"] : ["patient", "privacy", "provider"];
  const fallback: ViewName = isProvider ? "provider" : guarded.length > 0 ? "guardian" : "patient";
  let active: ViewName = view && names.includes(view) ? view : fallback;
  const tabs = names.map((name) =>
    h(
      "button",
      {
        type: "button",
        class: "tab",
        "aria-pressed": String(name === active),
        onclick: () => {
          active = name;
          if (current) current.view = name;
          tabs.forEach((tab, index) => tab.setAttribute("aria-pressed", String(names[index] === name)));
          void busy(draw);
        },
      },
      VIEW_TITLES[name],
    ),
  );
  if (current) current.view = active;
  async function draw(): Promise<void> {
    try {
      replace(
        viewHost,
        active === "patient"
          ? await patientView(session)
          : active === "privacy"
            ? await privacyView(session)
            : active === "guardian"
              ? await guardianView(session)
              : await providerView(session),
      );
    } catch (error) {
      replace(viewHost, h("p", { class: "error", role: "alert" }, errorText(error)));
    }
  }
  replace(content, h("nav", { class: "tabs", "aria-label": "Views" }, tabs), viewHost);
  await busy(draw);
}

/** Marks the page busy (aria-busy) while `run` reads the chain and redraws. */
async function busy(run: () => Promise<void>): Promise<void> {
  root.setAttribute("aria-busy", "true");
  try {
    await run();
  } finally {
    root.removeAttribute("aria-busy");
  }
}

async function describeRole(session: Session, patients: { patient: string; expiresAt: number }[]): Promise<string> {
  const { client, account, directory } = session;
  const { id, status, capabilities } = await client.providerStatus(account);
  const parts: string[] = [];
  if (status !== ProviderStatus.None) {
    const entry = directory.get(id);
    const name = entry?.name ?? shortHex(id);
    parts.push(`Registered provider: ${name} (${statusName(status)}; ${capabilityWords(capabilities)})`);
  }
  if (patients.length > 0) {
    parts.push(
      `Guardian (delegate) of ${patients.map((p) => `${shortHex(p.patient)} until ${day(p.expiresAt - 1)}`).join(", ")}`,
    );
  }
  if (parts.length === 0) parts.push("Patient");
  return `Role: ${parts.join(". ")}.`;
}
