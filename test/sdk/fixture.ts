/**
 * The SDK tests' fixture: the registries with providers (test/helpers/fixtures.ts) and a client per account.
 */
import { ethers } from "hardhat";

import { connect, type ConsentClient } from "../../src/client";
import type { DeploymentAddresses } from "../../src/deployment";
import { deployWithProviders } from "../helpers/fixtures";

export async function deploySdk() {
  const fixture = await deployWithProviders();
  const receipt = await fixture.providers.deploymentTransaction()?.wait();
  const deployment: DeploymentAddresses = {
    providerRegistry: await fixture.providers.getAddress(),
    consentRegistry: await fixture.consents.getAddress(),
    recordRegistry: await fixture.records.getAddress(),
    deploymentBlock: receipt?.blockNumber ?? 0,
    chainId: Number((await ethers.provider.getNetwork()).chainId),
  };
  const client = (runner: Parameters<typeof connect>[0]): ConsentClient => connect(runner, deployment);
  return {
    ...fixture,
    deployment,
    client,
    patientClient: client(fixture.patient),
    clinicClient: client(fixture.clinic),
    registrarClient: client(fixture.registrar),
    relayerClient: client(fixture.relayer),
    erClient: client(fixture.emergencyDoctor),
  };
}
