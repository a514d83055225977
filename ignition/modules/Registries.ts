/**
 * The three registries, wired together:
 *   ProviderRegistry(admin, registrar) <- ConsentRegistry(providerRegistry) <- RecordRegistry(consentRegistry).
 *
 * Parameters (module "Registries"): `admin` and `registrar` of the provider registry, both defaulting to the
 * deploying account. `npm run deploy` sets `registrar` from env REGISTRAR and hands the admin role over afterwards
 * (env REGISTRY_ADMIN); with the Ignition CLI pass them in a parameters file:
 *   npx hardhat ignition deploy ignition/modules/Registries.ts --network sepolia --parameters params.json
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

const RegistriesModule = buildModule("Registries", (m) => {
  const deployer = m.getAccount(0);
  const admin = m.getParameter("admin", deployer);
  const registrar = m.getParameter("registrar", deployer);

  const providerRegistry = m.contract("ProviderRegistry", [admin, registrar]);
  const consentRegistry = m.contract("ConsentRegistry", [providerRegistry]);
  const recordRegistry = m.contract("RecordRegistry", [consentRegistry]);

  return { providerRegistry, consentRegistry, recordRegistry };
});

export default RegistriesModule;
