// Video-level score as upstream's cross-efficient-vit/test.py computes it: faces are grouped per person
// (upstream: by the face index "_0", "_1", "_2" of its crop files, up to 3; here: by face track, up to 3), each
// group's score is the mean of its per-face sigmoids, and with more than one group custom_video_round picks
// the FIRST group whose mean is above 0.55, else the mean of the group means. One group: its mean.

export const TRACK_FAKE_THRESHOLD = 0.55;

export interface VideoScore {
  probabilityFake: number;
  /** Index of the track whose mean decided (the first above 0.55), when one did. */
  decidingTrack?: number;
}

/** custom_video_round over per-track means, in track order. */
export function videoScore(trackMeans: readonly number[]): VideoScore {
  if (trackMeans.length === 0) throw new RangeError("no tracks");
  if (trackMeans.length === 1) return { probabilityFake: trackMeans[0]! };
  const first = trackMeans.findIndex((m) => m > TRACK_FAKE_THRESHOLD);
  if (first >= 0) return { probabilityFake: trackMeans[first]!, decidingTrack: first };
  return { probabilityFake: trackMeans.reduce((a, b) => a + b, 0) / trackMeans.length };
}

/** Mean face probability per track (0..trackCount-1), summed in the order given (frame order). */
export function trackMeans(items: readonly { track: number }[], probabilities: readonly number[], trackCount: number): { means: number[]; counts: number[] } {
  if (items.length !== probabilities.length) throw new RangeError(`${items.length} faces but ${probabilities.length} probabilities`);
  const sums = new Array<number>(trackCount).fill(0);
  const counts = new Array<number>(trackCount).fill(0);
  items.forEach((it, i) => {
    if (!(it.track >= 0 && it.track < trackCount)) throw new RangeError(`track ${it.track} outside 0..${trackCount - 1}`);
    sums[it.track]! += probabilities[i]!;
    counts[it.track]! += 1;
  });
  if (counts.some((c) => c === 0)) throw new RangeError("a track without faces");
  return { means: sums.map((s, t) => s / counts[t]!), counts };
}
