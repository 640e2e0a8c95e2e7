"""Reference (PyTorch) RawGAT-ST scores of audio files, window by window, as JSON on stdout.

    python3 reference_scores.py --variant mul [--checkpoint PATH] [--format wav ...] FILE...
    python3 reference_scores.py --variant add --raw-f32 clip.f32 ...   # already decoded samples

Audio is decoded the way the service decodes it (@deepsafe/sdk decodeAudio): the ffmpeg CLI to mono
16 kHz float32 little-endian, with the same arguments. Windows follow the SDK's planWindows
(sdk/src/audio/windows.ts): 64,600-sample windows at a hop (default 32,300), the last aligned to the
clip end, clips shorter than one window repeat-padded, evenly spread windows past --max-windows.
Decoding, windowing and this command line are shared with the other audio references:
sdk/python/deepsafe_audio.py (reference_main).

The checkpoint defaults to $DEEPSAFE_WEIGHTS_MIRROR/rawgat_st/RawGAT_ST_<variant>/Best_epoch.pth and must
match the pinned sha256.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from deepsafe_audio import reference_main  # noqa: E402
from rawgat_reference import NB_SAMP, VARIANTS, load_official  # noqa: E402
from export import verify_checkpoint  # noqa: E402


def main(argv=None) -> int:
    return reference_main(argv, __doc__, list(VARIANTS), "RAWGAT_TORCH_THREADS",
                          checkpoint_in_mirror=lambda variant: f"rawgat_st/RawGAT_ST_{variant}/Best_epoch.pth",
                          verify=verify_checkpoint, load=load_official, window_samples=NB_SAMP, also=(OSError,))


if __name__ == "__main__":
    sys.exit(main())
