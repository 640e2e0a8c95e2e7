#!/usr/bin/env node
// The `deepsafe` command: the CLI is TypeScript, run through tsx's loader (as the rest of the repo is).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
process.exitCode = await main(process.argv.slice(2));
