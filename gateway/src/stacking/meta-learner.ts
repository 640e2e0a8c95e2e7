// One deployed meta-learner: the artifact's ONNX graph in onnxruntime-node. Input: one row of
// detector P(fake) values in the manifest's column order (NaN = no score: the graph's imputer fills
// it); output: calibrated P(fake).
import * as ort from "onnxruntime-node";
import { ArtifactError, type Manifest, readArtifact } from "./artifact.js";

/** Largest |P(fake) here - P(fake) recorded at training| accepted for the reference rows. */
const REFERENCE_TOLERANCE = 1e-5;

export class MetaLearner {
  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly session: ort.InferenceSession,
  ) {}

  /** Load and self-check an artifact directory; throws ArtifactError when it cannot be served. */
  static async load(dir: string): Promise<MetaLearner> {
    const { manifest, onnx } = readArtifact(dir);
    let session: ort.InferenceSession;
    try {
      // One thread: a meta-learner is a few hundred operations; the detectors need the cores.
      session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch (err) {
      throw new ArtifactError(`${dir}: onnxruntime cannot load ${manifest.onnx.file}: ${(err as Error).message}`);
    }
    const learner = new MetaLearner(dir, manifest, session);
    try {
      if (!session.inputNames.includes(manifest.onnx.input)) throw new ArtifactError(`${dir}: the graph has no input "${manifest.onnx.input}" (it has ${session.inputNames.join(", ")})`);
      if (!session.outputNames.includes(manifest.onnx.output)) throw new ArtifactError(`${dir}: the graph has no output "${manifest.onnx.output}" (it has ${session.outputNames.join(", ")})`);
      const got = await learner.predictRows(manifest.reference.map((r) => r.features.map((v) => v ?? Number.NaN)));
      manifest.reference.forEach((r, i) => {
        if (!(Math.abs(got[i]! - r.pFake) <= REFERENCE_TOLERANCE)) {
          throw new ArtifactError(`${dir}: reference row ${i} gives P(fake) ${got[i]} here, ${r.pFake} at training: not served`);
        }
      });
    } catch (err) {
      await session.release();
      throw err instanceof ArtifactError ? err : new ArtifactError(`${dir}: ${(err as Error).message}`);
    }
    return learner;
  }

  get id(): string {
    return this.manifest.id;
  }

  /** P(fake) for each row (NaN where a detector gave no score). */
  async predictRows(rows: number[][]): Promise<number[]> {
    const n = this.manifest.features.length;
    const data = new Float32Array(rows.length * n);
    rows.forEach((row, i) => {
      if (row.length !== n) throw new ArtifactError(`a row has ${row.length} values, the meta-learner takes ${n}`);
      data.set(row, i * n);
    });
    const out = await this.session.run({ [this.manifest.onnx.input]: new ort.Tensor("float32", data, [rows.length, n]) }, [this.manifest.onnx.output]);
    const probs = out[this.manifest.onnx.output]!;
    const width = probs.dims[1] ?? 1;
    const values = probs.data as Float32Array;
    // Column 1 is the positive class (label 1 = fake) of a two-column probability output.
    return rows.map((_, i) => Number(values[i * width + (width === 2 ? 1 : 0)]));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
