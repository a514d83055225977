/**
 * A seeded random scenario of mixed operations on a node over JSON-RPC, for the indexer tests: grants (direct,
 * delegated, signed and relayed), denies, revokes (direct, delegated, signed), revokeAll, cancelled signatures,
 * delegates, break-glass windows opened and closed, recorded accesses, a provider key rotation, a suspension,
 * records with versions and retractions, batches with retracted items. Operations the registries refuse (a revoke
 * of nothing, an access without consent) are skipped: the refusal is simulated and costs no transaction.
 */
import { JsonRpcProvider, Wallet, id as keccakText } from "ethers";

import { Action, Capability, Purpose } from "../../src/codes";
import { connect, type ConsentClient } from "../../src/client";
import type { Deployment } from "../../src/deployment";
import { anvilDevKey } from "../helpers/anvil";

const DAY = 24 * 60 * 60;
const CATEGORIES = ["laboratory", "imaging", "medications", "vital-signs", "*"] as const;
const DATA_CATEGORIES = ["laboratory", "imaging", "medications", "vital-signs"] as const;

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Actors {
  provider: JsonRpcProvider;
  registrar: Wallet;
  patients: Wallet[];
  relayer: Wallet;
  clinic: Wallet;
  er: Wallet;
  lab: Wallet;
  delegate: Wallet;
  clinicNewKey: Wallet;
  persons: string[];
}

/** Anvil's dev accounts in their roles. */
export function actors(url: string): Actors {
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 20, cacheTimeout: -1 });
  const w = (i: number) => new Wallet(anvilDevKey(i), provider);
  return {
    provider,
    registrar: w(0),
    patients: [w(1), w(2), w(3)],
    relayer: w(4),
    clinic: w(5),
    er: w(6),
    lab: w(7),
    delegate: w(8),
    clinicNewKey: w(9),
    persons: ["0x00000000000000000000000000000000000a11ce", "0x000000000000000000000000000000000000b0b0"],
  };
}

/** Registers the three providers and appoints the delegate of the first two patients. */
export async function setUp(deployment: Deployment, a: Actors): Promise<void> {
  const registrar = connect(a.registrar, deployment);
  await registrar.registerProvider(a.clinic.address, "npi:clinic", Capability.TREATMENT, "ipfs://clinic");
  await registrar.registerProvider(a.er.address, "npi:er", Capability.TREATMENT | Capability.EMERGENCY, "");
  await registrar.registerProvider(a.lab.address, "npi:lab", Capability.TREATMENT, "");
  const now = await connect(a.provider, deployment).latestTimestamp();
  for (const patient of a.patients.slice(0, 2)) {
    await connect(patient, deployment).setDelegate(a.delegate.address, now + 3650 * DAY);
  }
}

export interface ScenarioState {
  done: number;
  skipped: number;
  rotated: boolean;
  suspended: boolean;
  records: Map<string, string[]>;
  batches: { batchId: bigint; items: { patient: string; category: string; contentHash: string }[] }[];
}

export function newState(): ScenarioState {
  return { done: 0, skipped: 0, rotated: false, suspended: false, records: new Map(), batches: [] };
}

/** Runs `count` operations (seeded by `seed`) on top of `state`. */
export async function runScenario(
  deployment: Deployment,
  a: Actors,
  count: number,
  seed: number,
  state: ScenarioState = newState(),
): Promise<ScenarioState> {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
  const client = (wallet: Wallet): ConsentClient => connect(wallet, deployment);
  const reader = connect(a.provider, deployment);
  const clinicKey = () => (state.rotated ? a.clinicNewKey : a.clinic);
  const grantees = () => [a.clinic.address, a.er.address, a.lab.address, ...a.persons];
  const terms = async () => {
    const now = await reader.latestTimestamp();
    const later = rnd() < 0.2;
    return {
      purposes: [pick([Purpose.TREAT, Purpose.HRESCH, Purpose.CAREMGT]), Purpose.TREAT],
      actions: [pick([Action.ACCESS, Action.COLLECT, Action.USE])],
      notBefore: later ? now + DAY : 0,
      expiresAt: now + Math.floor((later ? 2 : 0.01 + rnd() * 3) * DAY),
    };
  };

  for (let i = 0; i < count; i++) {
    const patient = pick(a.patients);
    const patientIndex = a.patients.indexOf(patient);
    const own = client(patient);
    const grantee = pick(grantees());
    const category = pick(CATEGORIES);
    const dataCategory = pick(DATA_CATEGORIES);
    const roll = rnd();
    try {
      if (roll < 0.22) {
        await own.grant({ grantee, category, ...(await terms()) });
      } else if (roll < 0.3) {
        if (patientIndex === 2) throw new Error("no delegate");
        await client(a.delegate).grantFor(patient.address, { grantee, category, ...(await terms()) });
      } else if (roll < 0.38) {
        const deadline = (await reader.latestTimestamp()) + DAY;
        const signed = await own.signGrant({ grantee, category, ...(await terms()) }, { deadline });
        await client(a.relayer).submitSignedGrant(signed);
      } else if (roll < 0.44) {
        await own.deny(grantee, category);
      } else if (roll < 0.54) {
        await own.revoke(grantee, category);
      } else if (roll < 0.57) {
        // Signed revocations only of keys that are no provider's (see replayConsents on rotated keys).
        const person = pick(a.persons);
        const deadline = (await reader.latestTimestamp()) + DAY;
        const signed = await own.signRevoke({ grantee: person, category }, { deadline });
        await client(a.relayer).submitSignedRevoke(signed);
      } else if (roll < 0.59) {
        if (patientIndex === 2) throw new Error("no delegate");
        await client(a.delegate).revokeFor(patient.address, grantee, category);
      } else if (roll < 0.61) {
        await own.revokeAll();
      } else if (roll < 0.62) {
        await own.cancelSignatures();
      } else if (roll < 0.69) {
        const accessor = pick([clinicKey(), a.er, a.lab]);
        await client(accessor).recordAccess(patient.address, dataCategory, Purpose.TREAT, Action.ACCESS);
      } else if (roll < 0.73) {
        await client(a.er).emergencyAccess(patient.address, `trauma ${i}`);
      } else if (roll < 0.75) {
        await own.closeEmergencyAccess(a.er.address);
      } else if (roll < 0.77) {
        await own.setEmergencyAccess(rnd() < 0.7);
      } else if (roll < 0.78) {
        const now = await reader.latestTimestamp();
        if (rnd() < 0.5) await own.setDelegate(a.delegate.address, now + 30 * DAY);
        else await own.removeDelegate(a.delegate.address);
      } else if (roll < 0.88) {
        const chain = state.records.get(patient.address) ?? [];
        const supersedes = chain.length > 0 && rnd() < 0.4 ? chain[chain.length - 1] : undefined;
        const { recordId } = await own.anchor({
          patient: patient.address,
          category: dataCategory,
          contentHash: keccakText(`record ${seed} ${i}`),
          supersedes,
          uri: `ipfs://record-${i}`,
        });
        chain.push(recordId);
        state.records.set(patient.address, chain);
      } else if (roll < 0.9) {
        const chain = state.records.get(patient.address) ?? [];
        if (chain.length === 0) throw new Error("no record");
        await own.retract(pick(chain), "entered in error");
      } else if (roll < 0.94) {
        const items = a.patients.map((p, n) => ({
          patient: p.address,
          category: pick(DATA_CATEGORIES),
          contentHash: keccakText(`batch ${seed} ${i} ${n}`),
        }));
        const { batchId } = await client(clinicKey()).anchorBatch(items, `ipfs://batch-${i}`);
        state.batches.push({ batchId, items });
      } else if (roll < 0.97) {
        const batch = state.batches.length > 0 ? pick(state.batches) : undefined;
        if (!batch) throw new Error("no batch");
        const item = batch.items[patientIndex];
        await own.retractBatchItem(batch.batchId, item, "wrong patient");
      } else if (roll < 0.985) {
        if (state.rotated) throw new Error("rotated already");
        await client(a.clinic).rotateKey(a.clinicNewKey.address);
        await client(a.clinicNewKey).acceptKey(a.clinic.address);
        state.rotated = true;
      } else {
        const registrar = client(a.registrar);
        if (state.suspended) await registrar.reinstateProvider(a.lab.address);
        else await registrar.suspendProvider(a.lab.address, "licence review");
        state.suspended = !state.suspended;
      }
      state.done++;
    } catch {
      state.skipped++;
    }
    if (rnd() < 0.05) {
      await a.provider.send("evm_increaseTime", [Math.floor(rnd() * DAY)]);
      await a.provider.send("evm_mine", []);
    }
  }
  return state;
}
