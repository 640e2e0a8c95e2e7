// Runs python/train.py in the project venv: one JSON request in, one JSON result and model.onnx out.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TRAIN_SCRIPT, run } from "./venv.js";

export type Optimizer = "grid" | "optuna";

export interface TrainRequest {
  /** Rows of P(fake) per column; null = no score (NaN, imputed inside the pipeline). */
  X: Array<Array<number | null>>;
  y: Array<0 | 1>;
  seed: number;
  test_fraction: number;
  folds: number;
  optimizer: Optimizer;
  trials: number;
  onnxPath: string;
}

export interface Candidate {
  name: string;
  params: Record<string, unknown>;
  cvAucMean: number;
  cvAucStd: number;
  cvAucFolds: Array<number | null>;
  /** P(fake) on the test split (scikit-learn, uncalibrated), in split.test order. */
  testProba: number[];
  seconds: number;
}

export interface TrainResult {
  split: { train: number[]; test: number[]; seed: number };
  folds: number;
  optimizer: Optimizer;
  candidates: Candidate[];
  winner: string;
  calibration: { method: string; folds: number; fittedOn: string };
  onnx: { input: string; output: string; opset: Record<string, number>; parityMaxAbsDiff: number; proba: number[] };
  /** The deployed graph's P(fake) on the test split (calibrated), in split.test order. */
  winnerCalibratedTestProba: number[];
  versions: Record<string, string>;
}

/** Train in `workDir` (request.json, result.json; the graph at request.onnxPath). Progress lines go to stderr. */
export async function train(python: string, request: TrainRequest, workDir: string, echo: boolean): Promise<TrainResult> {
  const reqPath = join(workDir, "train-request.json");
  const resPath = join(workDir, "train-result.json");
  await writeFile(reqPath, JSON.stringify(request));
  // One thread per library: the machine may be busy with detectors, and results stay reproducible.
  const env = { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1", PYTHONHASHSEED: "0" };
  await run(python, [TRAIN_SCRIPT, reqPath, resPath], { echo, env });
  return JSON.parse(await readFile(resPath, "utf8")) as TrainResult;
}
