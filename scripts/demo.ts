/**
 * `npm run demo`: the whole story on Hardhat's in-process chain, through the SDK.
 *
 * A registrar registers a clinic, an imaging centre and an emergency doctor; a patient anchors a lab report
 * (synthetic bytes made here: no personal data), signs consents for two providers in their wallet (EIP-712) that a
 * relayer submits in the other order (each consent key has its own nonces); the clinic checks its consent and records
 * its access; the emergency doctor opens a break-glass window, cannot renew it, and cannot re-open it once the
 * patient closed it; a guardian the patient appointed denies the imaging centre one category; the patient revokes and
 * the clinic is refused. Prints addresses, consent states, the gas of every step, and the history rebuilt from the
 * events with who acted (patient, delegate or relayer).
 */
import hre from "hardhat";
import type { ContractTransactionReceipt } from "ethers";

import {
  Action,
  Capability,
  ConsentError,
  ConsentStatus,
  Purpose,
  RecordStatus,
  cidFor,
  connect,
  type ConsentClient,
  type HistoryEvent,
} from "../src";
import { deployRegistries } from "./lib/deploy-registries";
import { formatConsent, formatEvent, formatTime } from "./lib/format";

const DAY = 24 * 60 * 60;
const gasLog: { step: string; gas: bigint }[] = [];

function say(line = ""): void {
  console.log(line);
}

function step(title: string): void {
  say();
  say(`== ${title}`);
}

/** Prints and remembers the gas of one transaction. */
function gas(stepName: string, receipt: Pick<ContractTransactionReceipt, "gasUsed">): void {
  gasLog.push({ step: stepName, gas: receipt.gasUsed });
  say(`   gas: ${receipt.gasUsed.toLocaleString("en-US")} (${stepName})`);
}

/** Runs `call`, which the contracts must refuse, and prints the decoded refusal. */
async function refused(what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof ConsentError)) throw error;
    say(`   ${what}: refused (${error.errorName}): ${error.message}`);
    return;
  }
  throw new Error(`Expected a refusal of ${what}`);
}

async function consentState(
  client: ConsentClient,
  patient: string,
  grantee: string,
  category: string,
): Promise<string> {
  const { consent, status } = await client.consentOf(patient, await client.providerIdOf(grantee), category);
  return formatConsent(consent, status);
}

/** A synthetic lab report: made-up values for a made-up specimen, no personal data. */
function syntheticLabReport(): Uint8Array {
  const report = {
    resourceType: "DiagnosticReport",
    status: "final",
    category: "laboratory",
    code: "HbA1c panel",
    specimen: "SPECIMEN-DEMO-0001",
    results: [
      { test: "HbA1c", value: 5.4, unit: "%" },
      { test: "Fasting glucose", value: 92, unit: "mg/dL" },
    ],
    note: "Synthetic demo data",
  };
  return new TextEncoder().encode(JSON.stringify(report, null, 2));
}

async function main(): Promise<void> {
  const started = Date.now();
  const [deployer, patientSigner, clinicSigner, erSigner, relayerSigner, imagingSigner, guardianSigner] =
    await hre.ethers.getSigners();
  const [patient, clinic, er, relayer, imaging, guardian] = [
    patientSigner,
    clinicSigner,
    erSigner,
    relayerSigner,
    imagingSigner,
    guardianSigner,
  ].map((s) => s.address);

  step("1. Deploy the registries (Ignition module, in memory on the in-process chain)");
  const deployment = await deployRegistries(hre);
  say(`   ProviderRegistry ${deployment.providerRegistry}`);
  say(`   ConsentRegistry  ${deployment.consentRegistry}`);
  say(`   RecordRegistry   ${deployment.recordRegistry}`);
  for (const name of ["ProviderRegistry", "ConsentRegistry", "RecordRegistry"]) {
    const receipt = await hre.ethers.provider.getTransactionReceipt(deployment.transactions[name]);
    if (receipt) gas(`deploy ${name}`, receipt);
  }
  say(`   registrar and admin: ${deployer.address}`);
  say(`   patient ${patient}, clinic ${clinic}, imaging centre ${imaging}`);
  say(`   emergency doctor ${er}, relayer ${relayer}, guardian ${guardian}`);

  const asRegistrar = connect(deployer, deployment);
  const asPatient = connect(patientSigner, deployment);
  const asClinic = connect(clinicSigner, deployment);
  const asEr = connect(erSigner, deployment);
  const asRelayer = connect(relayerSigner, deployment);
  const asGuardian = connect(guardianSigner, deployment);

  step("2. The registrar registers a clinic, an imaging centre and an emergency doctor");
  say("   (TREATMENT and RESEARCH are directory labels; EMERGENCY is the capability the contracts enforce)");
  gas("register clinic", await asRegistrar.registerProvider(clinic, "npi:demo-clinic", Capability.TREATMENT));
  gas("register imaging centre", await asRegistrar.registerProvider(imaging, "npi:demo-imaging", Capability.TREATMENT));
  gas(
    "register emergency doctor",
    await asRegistrar.registerProvider(er, "npi:demo-er", Capability.TREATMENT | Capability.EMERGENCY),
  );

  step("3. The patient anchors a lab report (only its SHA-256 goes on-chain)");
  const report = syntheticLabReport();
  const uri = `ipfs://${cidFor(report)}`;
  const anchored = await asPatient.anchor({ patient, category: "laboratory", bytes: report, uri });
  say(`   ${report.length} bytes -> content hash ${anchored.contentHash}`);
  say(`   record id ${anchored.recordId}, uri ${uri}`);
  gas("anchor a record", anchored.receipt);
  const copy = await asClinic.verifyFile(patient, report);
  const tampered = await asClinic.verifyFile(patient, new TextEncoder().encode("HbA1c 9.9% (edited)"));
  say(
    `   a copy checks out: ${copy.anchored ? "yes" : "no"} (${RecordStatus[copy.status]}, ${formatTime(copy.anchoredAt)})`,
  );
  say(`   an edited copy checks out: ${tampered.anchored ? "yes" : "no"}`);

  step("4. The patient signs consents for two providers in their wallet (EIP-712); a relayer submits them");
  const now = await asPatient.latestTimestamp();
  const signed = await asPatient.signGrant(
    {
      grantee: clinic,
      category: "laboratory",
      purposes: [Purpose.TREAT, Purpose.CAREMGT],
      actions: [Action.ACCESS, Action.USE],
      expiresAt: now + 30 * DAY,
    },
    { deadline: now + 60 * 60 },
  );
  const signedImaging = await asPatient.signGrant(
    {
      grantee: imaging,
      category: "imaging",
      purposes: [Purpose.TREAT],
      actions: [Action.ACCESS],
      expiresAt: now + 7 * DAY,
    },
    { deadline: now + 60 * 60 },
  );
  say(
    `   signed for the clinic: laboratory, TREAT+CAREMGT, access+use, 30 days; nonce ${signed.nonce}, signature ${signed.signature.slice(0, 18)}...`,
  );
  say(`   signed for the imaging centre: imaging, TREAT, access, 7 days; nonce ${signedImaging.nonce}`);
  say("   each (grantee, category) has its own nonces, so the relayer may submit them in any order:");
  // What travels from the wallet to the relayer is JSON.
  gas(
    "grant by signature (relayer), imaging centre first",
    await asRelayer.submitSignedGrant(JSON.stringify(signedImaging)),
  );
  gas("grant by signature (relayer), then the clinic", await asRelayer.submitSignedGrant(JSON.stringify(signed)));
  say(`   consent of the clinic: ${await consentState(asClinic, patient, clinic, "laboratory")}`);
  say(`   consent of the imaging centre: ${await consentState(asClinic, patient, imaging, "imaging")}`);

  step("5. The clinic checks the consent and records its access");
  const mayAccess = await asClinic.isAuthorized(patient, clinic, "laboratory", Purpose.TREAT, Action.ACCESS);
  const mayDisclose = await asClinic.isAuthorized(patient, clinic, "laboratory", Purpose.TREAT, Action.DISCLOSE);
  const mayImaging = await asClinic.isAuthorized(patient, clinic, "imaging", Purpose.TREAT, Action.ACCESS);
  say(
    `   access laboratory for TREAT: ${mayAccess ? "yes" : "no"}; disclose: ${mayDisclose ? "yes" : "no"}; imaging: ${mayImaging ? "yes" : "no"}`,
  );
  gas(
    "record an access",
    await asClinic.recordAccess(patient, "laboratory", Purpose.TREAT, Action.ACCESS, anchored.recordId),
  );

  step("6. An emergency doctor opens break-glass access; it cannot renew it, and the patient closes it");
  const before = await asEr.isAuthorized(patient, er, "imaging", Purpose.ETREAT, Action.ACCESS);
  gas("open break-glass access", await asEr.emergencyAccess(patient, "unconscious patient in the emergency room"));
  const during = await asEr.isAuthorized(patient, er, "imaging", Purpose.ETREAT, Action.ACCESS);
  say(`   emergency access to imaging: before ${before ? "yes" : "no"}, while open ${during ? "yes" : "no"}`);
  await refused("renewing the open window", () => asEr.emergencyAccess(patient, "still unconscious"));
  gas("close break-glass access", await asPatient.closeEmergencyAccess(er));
  const after = await asEr.isAuthorized(patient, er, "imaging", Purpose.ETREAT, Action.ACCESS);
  say(`   after the patient closed it: ${after ? "yes" : "no"}`);
  await refused("re-opening after the patient closed it", () => asEr.emergencyAccess(patient, "again"));
  say("   (it can open again once the patient turns break-glass off and on, or grants it a consent)");

  step("7. The patient appoints a guardian, who denies the imaging centre genomics data");
  gas("appoint a delegate", await asPatient.setDelegate(guardian, now + 365 * DAY));
  gas("deny by the delegate", await asGuardian.denyFor(patient, imaging, "genomics"));
  say(`   imaging centre, genomics: ${await consentState(asClinic, patient, imaging, "genomics")}`);

  step("8. The patient revokes the clinic's consent; the clinic is refused");
  gas("revoke", await asPatient.revoke(clinic, "laboratory"));
  say(`   consent of the clinic: ${await consentState(asClinic, patient, clinic, "laboratory")}`);
  await refused("the clinic's access", () =>
    asClinic.recordAccess(patient, "laboratory", Purpose.TREAT, Action.ACCESS),
  );

  step("9. The patient's history, rebuilt from the events, with who acted");
  const events: HistoryEvent[] = [
    ...(await asPatient.consentHistory(patient)),
    ...(await asPatient.accessHistory(patient)),
  ].sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  for (const event of events) say(`   ${formatEvent(event)}`);
  const { status } = await asPatient.consentOf(patient, clinic, "laboratory");
  say(`   current state of the clinic's laboratory consent: ${ConsentStatus[status]}`);

  step("Gas per step");
  for (const { step: name, gas: used } of gasLog) say(`   ${used.toLocaleString("en-US").padStart(9)}  ${name}`);
  say();
  say(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
