// npm run prepare-face-detector -w @deepsafe/sdk [-- --force]: see prepare.ts. Exit 1 with what to set
// when the weights mirror or the pinned file is missing.
import { prepareFaceDetector } from "./prepare.js";

try {
  const { dir, copied } = await prepareFaceDetector({ force: process.argv.includes("--force") });
  console.log(copied ? `face detector: wrote ${dir}` : `face detector: ${dir} already holds the official YuNet graph (use --force to redo)`);
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
