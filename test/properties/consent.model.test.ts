/**
 * Model-based property tests: random sequences of operations (fast-check `fc.commands`) run against the reference
 * model (model.ts, written from the specification) and the real contracts on the in-process Hardhat network. After
 * every step, every isAuthorized of the universe (2 patients x 3 grantees x 3 categories x 10 purposes x 5 actions),
 * every consentOf, epoch, nonce, delegate term, break-glass window, provider entry and record must equal the model,
 * every revert must carry the custom error (and arguments) the model names, and the model-independent invariants of
 * harness.ts `checkInvariants` must hold.
 *
 * `npm test`: three fixed seeds x 25 runs x up to 30 operations.
 * `npm run test:fuzz` (FUZZ=long): a random seed, batches until at least 10,000 operations ran.
 * Replay a failure: FUZZ_SEED=<seed> FUZZ_PATH=<path> [FUZZ_REPLAY_PATH=<replayPath>] npx hardhat test
 * test/properties/consent.model.test.ts (see docs/testing.md).
 */
import { expect } from "chai";
import fc from "fast-check";

import {
  commandArbitraries,
  deployWorld,
  describeErrors,
  describeStats,
  freshRun,
  prepareBaseline,
  startChain,
  stats,
  type Chain,
  type World,
} from "./harness";

const env = process.env;
const LONG = env.FUZZ === "long";
/** FUZZ_SEED + FUZZ_PATH: replay one failing run. */
const REPLAY = env.FUZZ_SEED !== undefined && env.FUZZ_PATH !== undefined;
/** The seeds `npm test` always runs (a regression suite, the same on every machine), or FUZZ_SEED alone. */
const FIXED_SEEDS = env.FUZZ_SEED !== undefined ? [Number(env.FUZZ_SEED)] : [20240601, 1337, 987654321];
const FIXED_RUNS = 25;
const FIXED_MAX_COMMANDS = 30;
const LONG_MIN_OPERATIONS = Number(env.FUZZ_OPS ?? 10_000);
const LONG_MAX_COMMANDS = 60;
const LONG_RUNS_PER_BATCH = 50;

function property(world: World, maxCommands: number, replayPath?: string) {
  return fc.asyncProperty(
    fc.commands(commandArbitraries(), { maxCommands, size: "max", replayPath }),
    async (commands) => {
      await fc.asyncModelRun(() => freshRun(world), commands);
    },
  );
}

/** Runs the property; on failure, throws with everything needed to replay it. */
async function checkProperty(
  world: World,
  params: { seed: number; numRuns: number; maxCommands: number; path?: string; replayPath?: string },
) {
  const details = await fc.check(property(world, params.maxCommands, params.replayPath), {
    seed: params.seed,
    numRuns: params.numRuns,
    path: params.path,
    endOnFailure: env.FUZZ_NO_SHRINK === "1",
  });
  if (!details.failed) return details;
  const counterexample = details.counterexample ? String(details.counterexample[0]) : "(none)";
  const replayPath = /replayPath="([^"]*)"/.exec(counterexample)?.[1];
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const replay =
    `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath}` +
    (replayPath ? ` FUZZ_REPLAY_PATH=${replayPath}` : "") +
    ` FUZZ_MAX_COMMANDS=${params.maxCommands} npx hardhat test test/properties/consent.model.test.ts`;
  const message =
    `Model-based property failed (seed ${details.seed}, path ${details.counterexamplePath}, after ${details.numRuns} runs, ` +
    `${details.numShrinks} shrinks).\nReplay with:\n  ${replay}\nShrunk command sequence:\n  ${counterexample}\nError:\n  ${cause}`;
  console.error(message);
  throw new Error(message);
}

describe("Consent registries against the reference model (model-based property tests)", function () {
  let chain: Chain | undefined;
  let world: World;

  before(async function () {
    chain = await startChain();
    world = await deployWorld(chain);
    await prepareBaseline(world);
  });

  after(async function () {
    await chain?.stop();
    console.log(
      `      model runs on ${chain?.name}: ${stats.runs} runs, ${stats.commands} operations (${stats.transactions} transactions, ` +
        `${stats.reverts} expected reverts), ${stats.observations} full observations\n      succeeded/reverted: ${describeStats()}` +
        `\n      expected reverts by error: ${describeErrors()}`,
    );
  });

  if (REPLAY) {
    it("should replay the failing seed and path given in FUZZ_SEED / FUZZ_PATH", async function () {
      this.timeout(0);
      await checkProperty(world, {
        seed: Number(env.FUZZ_SEED),
        path: env.FUZZ_PATH,
        replayPath: env.FUZZ_REPLAY_PATH,
        numRuns: 1,
        maxCommands: Number(env.FUZZ_MAX_COMMANDS ?? (LONG ? LONG_MAX_COMMANDS : FIXED_MAX_COMMANDS)),
      });
    });
    return;
  }

  if (!LONG) {
    for (const seed of FIXED_SEEDS) {
      it(`should agree with the model on every view and every revert after every operation (seed ${seed}, ${FIXED_RUNS} runs x up to ${FIXED_MAX_COMMANDS} operations)`, async function () {
        this.timeout(300_000);
        // On Hardhat's in-process network (no Anvil) an observation takes ~1 s: a smaller smoke run then.
        const numRuns = chain?.fast ? FIXED_RUNS : 2;
        const maxCommands = chain?.fast ? FIXED_MAX_COMMANDS : 8;
        const before = stats.commands;
        const details = await checkProperty(world, { seed, numRuns, maxCommands });
        expect(details.numRuns).to.equal(numRuns);
        expect(stats.commands - before).to.be.greaterThan(numRuns);
      });
    }
    return;
  }

  it(`should agree with the model over at least ${LONG_MIN_OPERATIONS} random operations (FUZZ=long)`, async function () {
    this.timeout(0);
    const seed = Number(env.FUZZ_SEED ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0);
    console.log(`      FUZZ=long: base seed ${seed} (batch b uses seed ${seed} + b)`);
    const started = Date.now();
    const before = stats.commands;
    let batch = 0;
    while (stats.commands - before < LONG_MIN_OPERATIONS) {
      await checkProperty(world, {
        seed: (seed + batch) | 0,
        numRuns: LONG_RUNS_PER_BATCH,
        maxCommands: LONG_MAX_COMMANDS,
      });
      batch++;
      console.log(
        `      batch ${batch} (seed ${(seed + batch - 1) | 0}): ${stats.commands - before} operations so far, ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
    }
    const ops = stats.commands - before;
    console.log(
      `      FUZZ=long: ${ops} operations in ${batch} batches, ${((Date.now() - started) / 1000).toFixed(1)} s, no mismatch`,
    );
    expect(ops).to.be.at.least(LONG_MIN_OPERATIONS);
  });
});
