/**
 * Issue 15: "the property tests' model still agrees with the contracts under private ids". The model-based harness
 * (test/properties/harness.ts) names its data categories through CATEGORY_IDS; here they are swapped for privacy-mode
 * ids (keccak256(abi.encode(relationshipKey, code)), random-looking bytes32 that no public code hashes to), and a
 * short fixed-seed run checks every view and every revert against the reference model, as the main property test
 * does. "*" stays ANY_CATEGORY, as privacy mode keeps it. The originals are restored afterwards.
 */
import { expect } from "chai";
import fc from "fast-check";

import { categoryId } from "../../src/codes";
import { privateCategoryId, relationshipKey } from "../../src/privacy";
import {
  CATEGORY_IDS,
  commandArbitraries,
  deployWorld,
  freshRun,
  prepareBaseline,
  startChain,
  stats,
  type Chain,
  type World,
} from "../properties/harness";
import { ANY_CATEGORY } from "../properties/model";

const SECRET = `0x${"5a".repeat(32)}`;
const GRANTEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const PATIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("Consent registries against the reference model, under privacy-mode category ids", function () {
  let chain: Chain | undefined;
  let world: World;
  const original = { ...CATEGORY_IDS };

  before(async function () {
    const key = relationshipKey(SECRET, GRANTEE, PATIENT);
    CATEGORY_IDS.lab = privateCategoryId(key, "laboratory");
    CATEGORY_IDS.img = privateCategoryId(key, "imaging");
    chain = await startChain();
    world = await deployWorld(chain);
    await prepareBaseline(world);
  });

  after(async function () {
    Object.assign(CATEGORY_IDS, original);
    await chain?.stop();
  });

  it("uses private ids, never the public ones", function () {
    expect(CATEGORY_IDS.lab).to.not.equal(categoryId("laboratory"));
    expect(CATEGORY_IDS.img).to.not.equal(categoryId("imaging"));
    expect(CATEGORY_IDS.any).to.equal(ANY_CATEGORY);
  });

  it("agrees with the model on every view and every revert after every operation (fixed seed)", async function () {
    this.timeout(240_000);
    const numRuns = chain?.fast ? 8 : 2;
    const maxCommands = chain?.fast ? 20 : 6;
    const before = stats.commands;
    const details = await fc.check(
      fc.asyncProperty(fc.commands(commandArbitraries(), { maxCommands, size: "max" }), async (commands) => {
        await fc.asyncModelRun(() => freshRun(world), commands);
      }),
      { seed: 15_2026, numRuns },
    );
    if (details.failed) {
      throw new Error(
        `Model disagreed under private ids (seed ${details.seed}, path ${details.counterexamplePath}): ` +
          `${String(details.counterexample?.[0])}\n${String(details.errorInstance)}`,
      );
    }
    expect(stats.commands - before).to.be.greaterThan(numRuns);
  });
});
