// For the end-to-end tests of the measuring commands (npm run evaluate, npm run retrain): running a
// command as a child process, and a labelled audio set made here with ffmpeg. The labels exercise the
// mechanics only ("real" are non-speech signals, "fake" is flite speech); they say nothing about the
// detectors' quality.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { repoRoot } from "../local/mesh.js";
import { emptyWav } from "./media.js";

const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
/** Whether the official audio weights can be prepared (the audio mesh needs them). */
export const haveAudioWeights = mirror !== undefined && existsSync(join(mirror, "aasist", "AASIST.pth"));

/** Runs a command from the repository root; interrupted with SIGINT after timeoutMs. Output is stdout and stderr together. */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGINT"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** A 16 kHz mono WAV at path from ffmpeg input arguments (a lavfi source), cut to `seconds` when given. */
export async function makeAudio(path: string, input: string[], seconds?: number): Promise<void> {
  mkdirSync(join(path, ".."), { recursive: true });
  const cut = seconds === undefined ? [] : ["-t", String(seconds)];
  const r = await runCommand("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...input, ...cut, "-ar", "16000", "-ac", "1", path], process.env, 60_000);
  assert.is(r.code, 0, r.out);
}

/**
 * What a dataset holds besides good clips: real/empty.wav (every detector abstains on it), and two
 * unlabelled files the loader must skip: README.txt and unsorted/x.wav (a copy of `labelled`, a path in the set).
 */
export function addEdgeCases(set: string, labelled: string): void {
  writeFileSync(join(set, "real", "empty.wav"), emptyWav());
  writeFileSync(join(set, "README.txt"), "not data");
  mkdirSync(join(set, "unsorted"));
  writeFileSync(join(set, "unsorted", "x.wav"), readFileSync(join(set, labelled)));
}
