// Audio decoding is provided by ffmpeg (see decodeAudio); this is the shape models receive.
export interface DecodedAudio {
  /** Mono PCM in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
  durationSeconds: number;
}
