/**
 * Gas benchmark: this project's registries against the Ethereum Attestation Service (deployed from its npm package's
 * shipped artifacts) and against the EVM floor of each job, with the gas budgets the project holds itself to.
 *
 * Run: `npm run bench` (the in-process Hardhat network). Prints a table, writes bench/results.json, and exits
 * non-zero when a budget is exceeded or a measurement does not do what it claims.
 */
import fs from "node:fs";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import {
  Wallet,
  ZeroHash,
  dataSlice,
  getAddress,
  keccak256,
  toUtf8Bytes,
  type ContractTransactionResponse,
  type Signer,
} from "ethers";
import type { EAS } from "@ethereum-attestation-service/eas-contracts";

import type {
  ConsentConsumer,
  ConsentRegistry,
  EasConsentConsumer,
  ProviderRegistry,
  RecordRegistry,
} from "../typechain-types";
import { Action, Capability, Purpose, actionMask, categoryId, purposeMask } from "../src/codes";
import { consentDomain, signGrant } from "../src/eip712";
import { batchLeaf, buildBatch, cidFor, contentHash, type BatchItem } from "../src/records";
import { deploy, type Deployed } from "./lib/deploy";
import {
  CONSENT_SCHEMA,
  attestationData,
  checkAttestTypedData,
  consentData,
  deployEas,
  easPackageVersion,
  registerConsentSchema,
  signDelegatedAttest,
} from "./lib/eas";
import { GAS, transactionFloor, viewFloor, type LogLike } from "./lib/floor";
import { evaluate, floorFields, fmt, renderFloors, renderTable, type Row } from "./lib/report";
import { storageWrites } from "./lib/storage";

/** The gas budgets (see bench/README.md). */
const BUDGET = {
  grant: 55_000,
  revoke: 31_000,
  revokeAll: 50_000,
  grantWithSigFirst: 85_000,
  grantWithSigLater: 70_000,
  anchor: 80_000,
  anchorBatch: 80_000,
  isAuthorized: 20_000,
} as const;

/** The per-transaction gas cap (EIP-7825, Osaka). */
const TX_GAS_CAP = 16_777_216;
/** A gas limit for set-up transactions, so that they are not estimated first. */
const SETUP_GAS = 15_000_000;
/** Grants per multicall when storing many consents. */
const SEED_BATCH = 250;
/** Fixed times, so that calldata (and so gas) is the same on every run. */
const START = 2_000_000_000;
const EXPIRES = START + 365 * 24 * 60 * 60;
const DEADLINE = BigInt(START + 30 * 24 * 60 * 60);

const LAB = categoryId("laboratory");
const IMAGING = categoryId("imaging");
const TREAT = purposeMask(Purpose.TREAT);
const TREAT_OR_PAY = purposeMask(Purpose.TREAT, Purpose.HPAYMT);
const ACCESS = actionMask(Action.ACCESS);
const COLLECT = actionMask(Action.COLLECT);

/** A deterministic address standing for a grantee that is nobody in particular. */
function addressOf(label: string): string {
  return getAddress(dataSlice(keccak256(toUtf8Bytes(label)), 12));
}

/** A deterministic wallet (a patient who signs but never sends a transaction). */
function walletOf(label: string): Wallet {
  return new Wallet(keccak256(toUtf8Bytes(`bench wallet ${label}`)));
}

/** One mined transaction, as the floor and the storage check need it. */
interface Sent {
  readonly hash: string;
  readonly data: string;
  readonly target: string;
  readonly gas: number;
  readonly logs: readonly LogLike[];
}

async function send(pending: Promise<ContractTransactionResponse>): Promise<Sent> {
  const tx = await pending;
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) throw new Error(`Transaction ${tx.hash} failed`);
  return {
    hash: tx.hash,
    data: tx.data,
    target: tx.to ?? receipt.contractAddress ?? "",
    gas: Number(receipt.gasUsed),
    logs: receipt.logs.map((log) => ({ topics: [...log.topics], data: log.data })),
  };
}

function sentOf(deployed: Deployed<unknown>): Sent {
  const receipt = deployed.receipt;
  return {
    hash: receipt.hash,
    data: deployed.initCode,
    target: receipt.contractAddress ?? "",
    gas: Number(receipt.gasUsed),
    logs: receipt.logs.map((log) => ({ topics: [...log.topics], data: log.data })),
  };
}

function total(sent: readonly Sent[]): number {
  return sent.reduce((sum, tx) => sum + tx.gas, 0);
}

/** The bench's self-checks: a measurement that did not do what it claims fails the run like a budget. */
const problems: string[] = [];

function check(condition: boolean, message: string): void {
  if (!condition) problems.push(message);
}

/** Checks that `sent` wrote exactly the slots its floor assumes. */
async function expectWrites(sent: Sent, fresh: number, updated: number, job: string): Promise<void> {
  const writes = await storageWrites(hre.network.provider, sent.hash, sent.target);
  check(
    writes.fresh === fresh && writes.updated === updated,
    `${job}: the floor assumes ${fresh} fresh slot(s) and ${updated} update(s), the trace shows ` +
      `${writes.fresh} fresh and ${writes.updated} updated`,
  );
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  await time.increaseTo(START);
  const signers = await ethers.getSigners();
  const [deployer, registrar, alice, bob, carol, relayer, dave, erin, submitter, p1, p2, p3, lab] = signers;
  const rows: Row[] = [];
  const chainId = (await ethers.provider.getNetwork()).chainId;

  // ------------------------------------------------------------------------------------------------------------
  // Deployments
  // ------------------------------------------------------------------------------------------------------------
  const providersDeployed = await deploy<ProviderRegistry>(await ethers.getContractFactory("ProviderRegistry"), [
    deployer.address,
    registrar.address,
  ]);
  const providers = providersDeployed.contract;
  const consentsDeployed = await deploy<ConsentRegistry>(await ethers.getContractFactory("ConsentRegistry"), [
    await providers.getAddress(),
  ]);
  const consents = consentsDeployed.contract;
  const recordsDeployed = await deploy<RecordRegistry>(await ethers.getContractFactory("RecordRegistry"), [
    await consents.getAddress(),
  ]);
  const records = recordsDeployed.contract;
  const easDeployed = await deployEas(deployer);
  const eas: EAS = easDeployed.eas.contract;
  const schema = await registerConsentSchema(easDeployed.registry.contract);
  const easDomain = await checkAttestTypedData(eas);

  const deployments: { name: string; deployed: Deployed<unknown>; fresh: number; ours: boolean }[] = [
    { name: "ProviderRegistry", deployed: providersDeployed, fresh: 2, ours: true },
    { name: "ConsentRegistry", deployed: consentsDeployed, fresh: 0, ours: true },
    { name: "RecordRegistry", deployed: recordsDeployed, fresh: 0, ours: true },
    { name: "SchemaRegistry", deployed: easDeployed.registry, fresh: 0, ours: false },
    { name: "EAS", deployed: easDeployed.eas, fresh: 1, ours: false },
  ];
  let oursDeployFloor = 0;
  for (const { name, deployed, fresh, ours } of deployments) {
    const sent = sentOf(deployed);
    await expectWrites(sent, fresh, 0, `deploy ${name}`);
    const floor = transactionFloor({
      txData: [sent.data],
      freshSlots: fresh,
      logs: sent.logs,
      deployedCodeSize: deployed.codeSize,
    });
    if (ours) oursDeployFloor += floor.gas;
    rows.push({
      id: `deploy.${name}`,
      section: "Deployment",
      job: `deploy ${name}`,
      ours: ours ? sent.gas : null,
      easJob: ours ? null : `deploy ${name}`,
      eas: ours ? null : sent.gas,
      ...floorFields(floor),
      budget: null,
      note: `runtime code ${fmt(deployed.codeSize)} bytes`,
    });
  }
  rows.push({
    id: "deploy.all",
    section: "Deployment",
    job: "deploy the whole system",
    ours: deployments.filter((d) => d.ours).reduce((sum, d) => sum + Number(d.deployed.receipt.gasUsed), 0),
    easJob: "SchemaRegistry + EAS",
    eas: deployments.filter((d) => !d.ours).reduce((sum, d) => sum + Number(d.deployed.receipt.gasUsed), 0),
    floor: oursDeployFloor,
    floorTerms: "the sum of the three floors above",
    budget: null,
    note:
      "ours: ProviderRegistry + ConsentRegistry + RecordRegistry. A deployment's floor is 21,000 + 32,000 + init code " +
      "calldata and words + 200 a byte of runtime code + the constructor's slots and logs.",
  });

  // ------------------------------------------------------------------------------------------------------------
  // Grant, overwrite, revoke
  // ------------------------------------------------------------------------------------------------------------
  const clinic = addressOf("clinic");
  const attest = (signer: Signer, recipient: string, category = LAB, purposes = TREAT) =>
    eas
      .connect(signer)
      .attest({ schema, data: attestationData(recipient, EXPIRES, consentData(category, purposes, ACCESS)) });
  const uidOf = async (sent: Sent): Promise<string[]> => {
    const uids: string[] = [];
    for (const log of sent.logs) {
      const parsed = eas.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === "Attested") uids.push(parsed.args.uid as string);
    }
    return uids;
  };

  const grant = await send(consents.connect(alice).grant(clinic, LAB, TREAT, ACCESS, 0, EXPIRES));
  await expectWrites(grant, 1, 0, "fresh grant");
  const easAttest = await send(attest(alice, clinic));
  rows.push({
    id: "grant.fresh",
    section: "Consent",
    job: "grant (fresh)",
    ours: grant.gas,
    easJob: "attest",
    eas: easAttest.gas,
    ...floorFields(transactionFloor({ txData: [grant.data], freshSlots: 1, logs: grant.logs })),
    budget: { max: BUDGET.grant },
  });

  const overwrite = await send(consents.connect(alice).grant(clinic, LAB, TREAT_OR_PAY, ACCESS, 0, EXPIRES));
  await expectWrites(overwrite, 0, 1, "overwrite");
  const easAgain = await send(attest(alice, clinic, LAB, TREAT_OR_PAY));
  rows.push({
    id: "grant.overwrite",
    section: "Consent",
    job: "grant (overwrite)",
    ours: overwrite.gas,
    easJob: "attest again (EAS cannot overwrite: a second attestation, the first stays valid until revoked)",
    eas: easAgain.gas,
    ...floorFields(transactionFloor({ txData: [overwrite.data], coldUpdates: 1, logs: overwrite.logs })),
    budget: null,
    note: "the consent's slot is rewritten in place: a cold update of a non-zero slot (5,000).",
  });

  const revoke = await send(consents.connect(alice).revoke(clinic, LAB));
  await expectWrites(revoke, 0, 1, "revoke");
  const [firstUid] = await uidOf(easAttest);
  const easRevoke = await send(eas.connect(alice).revoke({ schema, data: { uid: firstUid, value: 0n } }));
  rows.push({
    id: "revoke",
    section: "Consent",
    job: "revoke",
    ours: revoke.gas,
    easJob: "revoke",
    eas: easRevoke.gas,
    ...floorFields(transactionFloor({ txData: [revoke.data], coldUpdates: 1, logs: revoke.logs })),
    budget: { max: BUDGET.revoke },
  });

  // ------------------------------------------------------------------------------------------------------------
  // revokeAll with 1 and 100 consents outstanding (10,000 below, once that patient has them)
  // ------------------------------------------------------------------------------------------------------------
  const grantCall = (grantee: string, category: string, purposes = TREAT, actions = ACCESS) =>
    consents.interface.encodeFunctionData("grant", [grantee, category, purposes, actions, 0, EXPIRES]);
  /** Stores `count` consents of `patient` to distinct grantees, in multicalls, with `also` appended. */
  const seedConsents = async (patient: Signer, label: string, count: number, also: string[] = []) => {
    const calls = Array.from({ length: count }, (_, i) =>
      grantCall(addressOf(`${label} grantee ${i}`), i % 2 ? LAB : IMAGING),
    );
    calls.push(...also);
    for (let i = 0; i < calls.length; i += SEED_BATCH) {
      await send(consents.connect(patient).multicall(calls.slice(i, i + SEED_BATCH), { gasLimit: SETUP_GAS }));
    }
  };
  /** Makes `count` EAS attestations of `attester`, in multiAttest batches under the per-transaction cap. */
  const seedAttestations = async (attester: Signer, label: string, count: number, recipients: string[] = []) => {
    const all = Array.from({ length: count }, (_, i) => addressOf(`${label} recipient ${i}`)).concat(recipients);
    const uids: string[] = [];
    for (let i = 0; i < all.length; i += 50) {
      const data = all
        .slice(i, i + 50)
        .map((recipient) => attestationData(recipient, EXPIRES, consentData(LAB, TREAT, ACCESS)));
      uids.push(
        ...(await uidOf(await send(eas.connect(attester).multiAttest([{ schema, data }], { gasLimit: SETUP_GAS })))),
      );
    }
    return uids;
  };

  const revokeAllRow = async (patient: Signer, count: number, easUids: string[] | null) => {
    const sent = await send(consents.connect(patient).revokeAll());
    await expectWrites(sent, 1, 0, `revokeAll with ${count}`);
    const easSent =
      easUids === null
        ? null
        : await send(
            eas.connect(patient).multiRevoke([{ schema, data: easUids.map((uid) => ({ uid, value: 0n })) }], {
              gasLimit: SETUP_GAS,
            }),
          );
    rows.push({
      id: `revokeAll.${count}`,
      section: "Consent",
      job: `revokeAll, ${fmt(count)} outstanding`,
      ours: sent.gas,
      easJob: easSent ? `multiRevoke of ${fmt(count)} (EAS has no revoke-all)` : null,
      eas: easSent?.gas ?? null,
      ...floorFields(transactionFloor({ txData: [sent.data], freshSlots: 1, logs: sent.logs })),
      budget: { max: BUDGET.revokeAll },
      note:
        count === 1
          ? "revokeAll moves the patient's epoch from 0 to 1 in their (empty) state slot: one fresh slot whatever the count."
          : undefined,
    });
  };
  await seedConsents(bob, "bob", 1);
  await revokeAllRow(bob, 1, await seedAttestations(bob, "bob", 1));
  await seedConsents(carol, "carol", 100);
  await revokeAllRow(carol, 100, await seedAttestations(carol, "carol", 100));

  // ------------------------------------------------------------------------------------------------------------
  // Signed grants submitted by a relayer
  // ------------------------------------------------------------------------------------------------------------
  const signer = walletOf("signing patient");
  const domain = consentDomain(chainId, await consents.getAddress());
  const signedGrantee = addressOf("signed grantee");
  const signedRow = async (nonce: number, first: boolean) => {
    const request = {
      patient: signer.address,
      grantee: signedGrantee,
      category: LAB,
      purposes: TREAT,
      actions: ACCESS,
      notBefore: 0,
      expiresAt: EXPIRES,
    };
    const keyNonce = await consents.signatureNonce(signer.address, signedGrantee, LAB);
    check(BigInt(nonce) === keyNonce, `grantWithSig: unexpected nonce ${keyNonce}`);
    const signature = await signGrant(signer, domain, request, nonce, DEADLINE);
    const sent = await send(consents.connect(relayer).grantWithSig(request, DEADLINE, signature));
    await expectWrites(sent, first ? 1 : 0, first ? 0 : 1, `grantWithSig nonce ${nonce}`);

    const easNonce = await eas.getNonce(signer.address);
    check(easNonce === BigInt(nonce), `attestByDelegation: unexpected nonce ${easNonce}`);
    const data = attestationData(request.grantee, EXPIRES, consentData(LAB, TREAT, ACCESS));
    const easSignature = await signDelegatedAttest(signer, easDomain, schema, data, easNonce, DEADLINE);
    const easSent = await send(
      eas.connect(relayer).attestByDelegation({
        schema,
        data,
        signature: easSignature,
        attester: signer.address,
        deadline: DEADLINE,
      }),
    );
    rows.push({
      id: `grantWithSig.${first ? "first" : "later"}`,
      section: "Consent",
      job: `grantWithSig, ${first ? "first" : "later"} signature`,
      ours: sent.gas,
      easJob: `attestByDelegation, ${first ? "first" : "later"} signature`,
      eas: easSent.gas,
      ...floorFields(
        transactionFloor({
          txData: [sent.data],
          freshSlots: first ? 1 : 0,
          coldUpdates: first ? 0 : 1,
          logs: sent.logs,
          extras: [{ what: "ecrecover", gas: GAS.ECRECOVER }],
        }),
      ),
      budget: { max: first ? BUDGET.grantWithSigFirst : BUDGET.grantWithSigLater },
      note: first
        ? "the key's nonce sequence lives in the consent's own slot: a first signature writes one fresh slot " +
          "(22,100), a later one for the same key updates it (5,000); the registry also reads the grantee's " +
          "provider entry and the ANY_CATEGORY consent, to refuse a signature past a deny; both floors add the " +
          "ecrecover precompile (3,000)."
        : undefined,
    });
  };
  await signedRow(0, true);
  await signedRow(1, false);

  // ------------------------------------------------------------------------------------------------------------
  // Ten grants in one transaction
  // ------------------------------------------------------------------------------------------------------------
  const tenGrantees = Array.from({ length: 10 }, (_, i) => addressOf(`ten grantee ${i}`));
  const ten = await send(consents.connect(dave).multicall(tenGrantees.map((grantee) => grantCall(grantee, LAB))));
  await expectWrites(ten, 10, 0, "ten grants");
  const easTen = await send(
    eas
      .connect(dave)
      .multiAttest([
        { schema, data: tenGrantees.map((r) => attestationData(r, EXPIRES, consentData(LAB, TREAT, ACCESS))) },
      ]),
  );
  rows.push({
    id: "grant.ten",
    section: "Consent",
    job: "10 grants in one tx",
    ours: ten.gas,
    easJob: "multiAttest of 10",
    eas: easTen.gas,
    items: 10,
    ...floorFields(transactionFloor({ txData: [ten.data], freshSlots: 10, logs: ten.logs })),
    budget: null,
    note: "ours: multicall(bytes[]) of ten grant calls (OpenZeppelin Multicall).",
  });

  // ------------------------------------------------------------------------------------------------------------
  // Anchoring
  // ------------------------------------------------------------------------------------------------------------
  const record = (label: string) => toUtf8Bytes(`FHIR DocumentReference ${label}`);
  const ipfsUri = (content: Uint8Array) => `ipfs://${cidFor(content)}`;

  const content = record("erin 1");
  const uri = ipfsUri(content);
  check(uri.length === 66, `the record URI is ${uri.length} bytes, expected 66`);
  const anchor = await send(records.connect(erin).anchor(erin.address, LAB, contentHash(content), ZeroHash, uri));
  await expectWrites(anchor, 2, 0, "anchor by the patient");
  const easStamp = await send(
    eas.connect(erin).timestamp(batchLeaf({ patient: erin.address, category: LAB, contentHash: contentHash(content) })),
  );
  rows.push({
    id: "anchor",
    section: "Records",
    job: "anchor, by the patient",
    ours: anchor.gas,
    easJob:
      "timestamp(bytes32) of the hash of (patient, category, contentHash); EAS keeps no patient, category, URI or status",
    eas: easStamp.gas,
    ...floorFields(transactionFloor({ txData: [anchor.data], freshSlots: 2, logs: anchor.logs })),
    budget: { max: BUDGET.anchor },
    note:
      `with a ${uri.length}-byte URI (ipfs:// + base32 CIDv1, src/records.ts cidFor); the record keeps two slots: ` +
      "patient|anchoredAt|status, category.",
  });

  await send(consents.connect(erin).grant(lab.address, LAB, TREAT, COLLECT, 0, EXPIRES));
  const labContent = record("erin 2, by the lab");
  const labAnchor = await send(
    records.connect(lab).anchor(erin.address, LAB, contentHash(labContent), ZeroHash, ipfsUri(labContent)),
  );
  await expectWrites(labAnchor, 3, 0, "anchor by a grantee");
  rows.push({
    id: "anchor.grantee",
    section: "Records",
    job: "anchor, by a grantee with COLLECT",
    ours: labAnchor.gas,
    easJob: null,
    eas: null,
    ...floorFields(transactionFloor({ txData: [labAnchor.data], freshSlots: 3, logs: labAnchor.logs })),
    budget: null,
    note: "the registry asks the consent registry (isDelegate, isAuthorizedForAny) and keeps anchoredBy: a third slot.",
  });

  // Only an active registered provider anchors batches.
  await send(providers.connect(registrar).register(submitter.address, ZeroHash, Capability.TREATMENT, ""));
  const batchRow = async (count: number, withEas: boolean) => {
    const items: BatchItem[] = Array.from({ length: count }, (_, i) => ({
      patient: addressOf(`batch patient ${i % 97}`),
      category: i % 2 ? LAB : IMAGING,
      contentHash: contentHash(record(`batch ${count} item ${i}`)),
    }));
    const batch = buildBatch(items);
    const batchUri = ipfsUri(toUtf8Bytes(`batch manifest ${count}`));
    const sent = await send(records.connect(submitter).anchorBatch(batch.root, batch.count, batchUri));
    await expectWrites(sent, 2, 0, `anchorBatch of ${count}`);
    let easSent: Sent[] | null = null;
    if (withEas) {
      const hashes = items.map(batchLeaf);
      easSent = [];
      for (let i = 0; i < hashes.length; i += 500) {
        easSent.push(
          await send(eas.connect(submitter).multiTimestamp(hashes.slice(i, i + 500), { gasLimit: TX_GAS_CAP })),
        );
      }
      check(
        easSent.every((tx) => tx.gas <= TX_GAS_CAP),
        "multiTimestamp: a transaction exceeds the gas cap",
      );
    }
    rows.push({
      id: `anchorBatch.${count}`,
      section: "Records",
      job: `anchorBatch of ${fmt(count)}`,
      ours: sent.gas,
      easJob: easSent
        ? `multiTimestamp of ${fmt(count)} leaf hashes in ${easSent.length} tx of 500 (16,777,216 gas cap a tx)`
        : null,
      eas: easSent ? total(easSent) : null,
      items: count,
      ...floorFields(transactionFloor({ txData: [sent.data], freshSlots: 2, logs: sent.logs })),
      budget: { max: BUDGET.anchorBatch },
      note:
        count === 1000
          ? "one Merkle root (src/records.ts buildBatch: OpenZeppelin StandardMerkleTree over (patient, category, contentHash)) for the whole batch; " +
            "the batch keeps two slots: root, submitter|count|anchoredAt."
          : undefined,
    });
  };
  await batchRow(1, false);
  await batchRow(1000, true);
  await batchRow(10_000, false);

  // ------------------------------------------------------------------------------------------------------------
  // isAuthorized from another contract, cold, at 1, 100 and 10,000 consents
  // ------------------------------------------------------------------------------------------------------------
  const consumerFactory = await ethers.getContractFactory("ConsentConsumer");
  const easConsumerFactory = await ethers.getContractFactory("EasConsentConsumer");
  const isAuthorizedRow = async (patient: Signer, count: number, withEas: boolean) => {
    const label = `isAuthorized ${count}`;
    const consumer = (await deploy<ConsentConsumer>(consumerFactory, [await consents.getAddress()])).contract;
    await seedConsents(patient, label, count - 1, [grantCall(await consumer.getAddress(), LAB)]);
    await send(consumer.check(await patient.getAddress(), LAB, Purpose.TREAT, Action.ACCESS));
    check(await consumer.lastAnswer(), `${label}: the consumer was not authorised`);
    const ours = Number(await consumer.lastGas());

    let easGas: number | null = null;
    if (withEas) {
      const easConsumer = (await deploy<EasConsentConsumer>(easConsumerFactory, [await eas.getAddress()])).contract;
      const uids = await seedAttestations(patient, label, count - 1, [await easConsumer.getAddress()]);
      const uid = uids[uids.length - 1];
      await send(easConsumer.check(uid, schema, await patient.getAddress(), LAB, Purpose.TREAT, Action.ACCESS));
      check(await easConsumer.lastAnswer(), `${label}: the EAS consumer was not authorised`);
      easGas = Number(await easConsumer.lastGas());
    }
    rows.push({
      id: `isAuthorized.${count}`,
      section: "Checks (a contract asks, cold)",
      job: `isAuthorized, ${fmt(count)} stored`,
      ours,
      easJob: withEas ? `getAttestation(uid) + the consumer's checks of its fields, ${fmt(count)} stored` : null,
      eas: easGas,
      ...floorFields(viewFloor(1, 4)),
      budget: count === 1 ? { max: BUDGET.isAuthorized } : { max: BUDGET.isAuthorized, sameAs: "isAuthorized.1" },
      note:
        count === 1
          ? "gas measured with gasleft() around the call inside the calling contract, in a fresh transaction (all cold). " +
            "Floor: the cold access to the registry (2,600) + 4 cold SLOADs (2,100 each) the answer depends on: the " +
            "provider's entry, the patient's epoch, the consent for the category, the one for ANY_CATEGORY. The provider " +
            "entry lives in ProviderRegistry: a second cold account (2,600) the floor does not count. The EAS consumer is " +
            "given the uid (found off-chain) and sees no deny, ANY_CATEGORY or revoke-all."
          : undefined,
    });
  };
  await isAuthorizedRow(p1, 1, true);
  await isAuthorizedRow(p2, 100, true);
  await isAuthorizedRow(p3, 10_000, false);
  check(Number(await consents.epochOf(p3.address)) === 0, "the 10,000-consent patient was revoked early");
  await revokeAllRow(p3, 10_000, null);

  // ------------------------------------------------------------------------------------------------------------
  // Report
  // ------------------------------------------------------------------------------------------------------------
  const order = ["Deployment", "Consent", "Checks (a contract asks, cold)", "Records"];
  const rank = (row: Row) => order.indexOf(row.section) * 1000 + (row.id.startsWith("revokeAll.") ? 500 : 0);
  rows.sort((a, b) => rank(a) - rank(b));
  const results = evaluate(rows);
  const table = renderTable(results);
  console.log(table);
  console.log("\nFloors:\n" + renderFloors(results));

  const solidity = hre.config.solidity.compilers[0];
  const output = {
    description:
      "Gas of this project's registries against the Ethereum Attestation Service and the EVM floor of each job. " +
      "Written by `npm run bench` (bench/gas.ts); see bench/README.md.",
    environment: {
      network: "hardhat (in-process)",
      hardfork: hre.config.networks.hardhat.hardfork,
      solc: solidity.version,
      optimizerRuns: solidity.settings?.optimizer?.runs ?? null,
      evmVersion: solidity.settings?.evmVersion ?? null,
      easContracts: easPackageVersion(),
      easVersion: await eas.version(),
      easSchema: CONSENT_SCHEMA,
    },
    floorModel: {
      transaction: GAS.TX,
      calldataZeroByte: GAS.CALLDATA_ZERO_BYTE,
      calldataNonZeroByte: GAS.CALLDATA_NONZERO_BYTE,
      eip7623FloorPerToken: GAS.CALLDATA_FLOOR_PER_TOKEN,
      freshSlot: GAS.SSTORE_FRESH,
      coldSlotUpdate: GAS.SSTORE_UPDATE_COLD,
      log: GAS.LOG,
      logTopic: GAS.LOG_TOPIC,
      logDataByte: GAS.LOG_DATA_BYTE,
      coldAccount: GAS.COLD_ACCOUNT,
      coldSload: GAS.COLD_SLOAD,
      ecrecover: GAS.ECRECOVER,
      create: GAS.CREATE,
      initCodeWord: GAS.INITCODE_WORD,
      codeDepositByte: GAS.CODE_DEPOSIT_BYTE,
    },
    budgets: BUDGET,
    rows: results,
    pass: problems.length === 0 && results.every((result) => result.pass !== false),
  };
  const file = path.join(__dirname, "results.json");
  fs.writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);

  const failed = results.filter((result) => result.pass === false);
  for (const result of failed) {
    console.error(`BUDGET EXCEEDED: ${result.job}: ${fmt(result.ours)} gas, budget ${result.budgetText}`);
  }
  for (const problem of problems) console.error(`CHECK FAILED: ${problem}`);
  console.log(
    `\n${results.filter((r) => r.pass !== null).length - failed.length} budgets held, ${failed.length} exceeded; ` +
      `${problems.length} check(s) failed. Wrote ${path.relative(process.cwd(), file)} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s.`,
  );
  if (failed.length > 0 || problems.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
