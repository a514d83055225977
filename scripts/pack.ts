/**
 * `npm run pack`: builds the SDK package (see scripts/lib/package.ts) into `dist/package/` and packs it into
 * `dist/consent-anchor-<version>.tgz`, the file to publish (`npm publish dist/consent-anchor-<version>.tgz`) or to
 * install elsewhere (`npm install ./consent-anchor-<version>.tgz`).
 */
import path from "node:path";

import { buildPackage } from "./lib/package";

const root = path.resolve(__dirname, "..");
const built = buildPackage(root, path.join(root, "dist"));
console.log(`Packed ${path.relative(process.cwd(), built.tarball)}`);
console.log(`  dependencies: ${Object.keys(built.manifest.dependencies).join(", ")}`);
console.log(`  peer dependencies: ${Object.keys(built.manifest.peerDependencies).join(", ")}`);
