// Public entry points of @deepsafe/gateway (used by the launcher and tests).
export { startGateway, type Gateway, type GatewayOptions } from "./server.js";
export {
  loadRegistry,
  parseRegistry,
  RegistryError,
  RegistrySchema,
  DEFAULT_REGISTRY_PATH,
  type Registry,
  type DetectorConfig,
  type MediaDefaults,
  type MediaName,
} from "./registry.js";
export { fuse, type FusionInput, type FusionOptions, type FusionResult } from "./fusion.js";
export { sniff, type Sniffed } from "./sniff.js";
