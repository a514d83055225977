/**
 * Vite configuration of the web portal: a static single-page app with relative paths (`base: "./"`), so the built
 * site works from any folder, any host, or an IPFS gateway.
 *
 * `deployments.json` beside `index.html` lists the deployments the portal knows, looked up by the wallet's chain id:
 * the records of public networks kept in the repository's `deployments/` folder (local chains excluded), plus the
 * file named by `$PORTAL_LOCAL_DEPLOYMENT` (what `npm run app` writes for its local node). The dev and preview
 * servers serve it fresh on every request; a build writes it into the site.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const APP = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(APP, "..");
const LOCAL_CHAIN_IDS = new Set([31337, 1337]);

interface DeploymentRecord {
  network: string;
  chainId: number;
  [field: string]: unknown;
}

function readJson(file: string): DeploymentRecord | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(file, "utf8")) as DeploymentRecord;
    return typeof value.chainId === "number" && typeof value.consentRegistry === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The deployments the portal is given: shipped public ones, then the local node's (if any). */
function portalDeployments(): DeploymentRecord[] {
  const dir = path.join(ROOT, "deployments");
  const shipped = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((name) => name.endsWith(".json"))
        .sort()
        .map((name) => readJson(path.join(dir, name)))
        .filter((d): d is DeploymentRecord => d !== undefined && !LOCAL_CHAIN_IDS.has(d.chainId))
    : [];
  const localFile = process.env.PORTAL_LOCAL_DEPLOYMENT;
  const local = localFile ? readJson(localFile) : undefined;
  return local ? [...shipped.filter((d) => d.chainId !== local.chainId), local] : shipped;
}

function deploymentsFile(): Plugin {
  // Returns nothing: a function returned from configureServer would be taken for a post hook.
  const serve = (server: {
    middlewares: { use: (path: string, fn: (req: unknown, res: Response) => void) => void };
  }) => {
    server.middlewares.use("/deployments.json", (_req, res) => {
      res.setHeader("Content-Type", "application/json");
      res.setHeader("Cache-Control", "no-store");
      res.end(JSON.stringify(portalDeployments(), null, 2));
    });
  };
  interface Response {
    setHeader(name: string, value: string): void;
    end(body: string): void;
  }
  return {
    name: "consent-anchor-deployments",
    configureServer: serve,
    configurePreviewServer: serve,
    generateBundle() {
      this.emitFile({
        type: "asset",
        fileName: "deployments.json",
        source: `${JSON.stringify(portalDeployments(), null, 2)}\n`,
      });
    },
  };
}

export default defineConfig({
  root: APP,
  base: "./",
  cacheDir: path.join(ROOT, "node_modules", ".vite-portal"), // not app/node_modules/

  plugins: [deploymentsFile()],
  build: {
    outDir: process.env.PORTAL_OUT_DIR ?? path.join(ROOT, "dist", "portal"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: { strictPort: true, fs: { allow: [ROOT] } },
  preview: { strictPort: true },
  optimizeDeps: { include: ["ethers", "@openzeppelin/merkle-tree", "multiformats/cid", "qrcode-generator"] },
});
