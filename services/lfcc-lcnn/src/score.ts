// Whole-clip scoring: plan the windows, compute the static LFCC the windows need (frontend.onnx, in
// chunks), assemble each 750-frame window with its deltas, run the network per window, average P(fake).
import { preEmphasis, staticFeatures, windowFeatures, type StaticInference } from "./lfcc.js";
import {
  aggregateProbabilities,
  planWindows,
  probabilityFake,
  windowSeconds,
  type PlanOptions,
  type Variant,
  type WindowPlan,
} from "./plan.js";

export interface WindowScore {
  index: number;
  /** First clip frame of the window (frames are 10 ms apart). */
  startFrame: number;
  startSeconds: number;
  endSeconds: number;
  /** Network output: [logit of bona fide] (sigmoid) or [cos spoof, cos bona fide] (a-softmax). */
  output: number[];
  probabilityFake: number;
  /** The 750 × 60 network input, when asked for (keepFeatures). */
  features?: Float32Array;
}

export interface ClipScore {
  probabilityFake: number;
  windows: WindowScore[];
  plan: WindowPlan;
}

export interface ScoringSession {
  staticLfcc: StaticInference;
  classify(features: Float32Array): Promise<number[]>;
}

export interface ScoreOptions extends PlanOptions {
  chunkFrames?: number;
  signal?: AbortSignal;
  keepFeatures?: boolean;
}

export async function scoreClip(
  samples: Float32Array,
  session: ScoringSession,
  variant: Variant,
  options: ScoreOptions = {},
): Promise<ClipScore> {
  const plan = planWindows(samples.length, options);
  const staticAll = await staticFeatures(preEmphasis(samples), plan, session.staticLfcc, {
    chunkFrames: options.chunkFrames,
    signal: options.signal,
  });
  const windows: WindowScore[] = [];
  for (const [index, start] of plan.starts.entries()) {
    options.signal?.throwIfAborted();
    const features = windowFeatures(staticAll, plan, start);
    const output = await session.classify(features);
    windows.push({
      index,
      startFrame: start,
      ...windowSeconds(plan, start, samples.length),
      output,
      probabilityFake: probabilityFake(variant, output),
      ...(options.keepFeatures ? { features } : {}),
    });
  }
  return { probabilityFake: aggregateProbabilities(windows.map((w) => w.probabilityFake)), windows, plan };
}
