/** @berth/dev-fleet: N berth-agent test hosts on this machine (see fleet.ts). */
export {
  createFleet,
  createFleetNetwork,
  destroyFleet,
  readState,
  AGENT_BIN,
  type Fleet,
  type FleetHost,
  type FleetOptions,
  type DestroyReport,
} from "./fleet";
export { fleetNames, pickSubnet, addressesOf, DEFAULT_PREFIX, DEFAULT_RUN_ROOT } from "./names";
export { startServer, berthCli, freePort, CLI_BIN, type TestServer } from "./server";
