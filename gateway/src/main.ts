#!/usr/bin/env -S npx tsx
// Gateway process: load the registry, serve, shut down gracefully on SIGTERM/SIGINT.
import { AuthError } from "./auth/index.js";
import { SecretError } from "./auth/secret.js";
import { loadRegistry, RegistryError } from "./registry.js";
import { startGateway } from "./server.js";

async function main(): Promise<void> {
  const registry = loadRegistry(); // DEEPSAFE_REGISTRY or config/registry.yaml
  const port = process.env.DEEPSAFE_GATEWAY_PORT ? Number(process.env.DEEPSAFE_GATEWAY_PORT) : undefined;
  const gateway = await startGateway({ registry, port });
  console.log(`deepsafe gateway listening on ${gateway.url} (Connect, gRPC, gRPC-Web; HTTP/1.1 and h2c)`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1); // second signal: do not wait any longer
    stopping = true;
    console.log(`${signal}: draining in-flight requests`);
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  // Configuration problems get a plain message, not a stack trace.
  const plain = err instanceof RegistryError || err instanceof SecretError || err instanceof AuthError;
  console.error(plain ? `gateway refused to start: ${(err as Error).message}` : `gateway failed to start: ${(err as Error).message ?? err}`);
  process.exit(1);
});
