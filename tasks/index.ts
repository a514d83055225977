/**
 * The command-line tasks (`npx hardhat <task> --network <name>`), documented in docs/cli.md.
 * Each file imports only what loads before compilation; the SDK is loaded inside the actions.
 */
import "./consent";
import "./delegate";
import "./record";
import "./provider";
import "./access";
import "./fhir";
import "./privacy";
