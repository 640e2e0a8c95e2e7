"""Write a random-weight Cross-Efficient-ViT checkpoint of the published key layout (a test stand-in for the
official cross_efficient_vit.pth, which is not redistributed here), or a deliberately damaged one.

    python3 make_checkpoint.py --seed 0 --out fixture.pth [--prefix module.] [--drop KEY] [--add KEY]
                               [--reshape KEY] [--keep N] [--wrap state_dict]

--prefix module.   keys as torch.nn.DataParallel saves them
--drop / --add     remove a key / add an unknown one (strict loading must refuse the file)
--reshape KEY      replace a tensor by one of another shape
--keep N           only the first N tensors (a small file for the refusal tests; applied first)
--wrap NAME        save {NAME: state_dict} instead of the bare state_dict
Prints {"path", "sha256", "tensors"} as one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cross_efficient_vit import random_state_dict  # noqa: E402
from export import sha256_of  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--add", action="append", default=[])
    ap.add_argument("--reshape", action="append", default=[])
    ap.add_argument("--keep", type=int)
    ap.add_argument("--wrap")
    args = ap.parse_args(argv)

    state = random_state_dict(args.seed)
    if args.keep is not None:
        state = OrderedDict(list(state.items())[: args.keep])
    for key in args.drop:
        del state[key]
    for key in args.add:
        state[key] = torch.zeros(3)
    for key in args.reshape:
        state[key] = torch.zeros(*state[key].shape[:-1], state[key].shape[-1] + 1) if state[key].dim() else torch.zeros(2)
    state = OrderedDict((args.prefix + k, v) for k, v in state.items())
    obj = {args.wrap: state} if args.wrap else state
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(obj, args.out)
    print(json.dumps({"path": args.out, "sha256": sha256_of(args.out), "tensors": len(state)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
