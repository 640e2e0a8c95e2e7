"""Stream a file to DeepSafeService/Detect over gRPC and print the verdict.

    python detect.py --gateway localhost:8000 photo.jpg
    python detect.py --gateway localhost:8000 --models npr,ufd --ensemble average --json photo.jpg

Needs the generated code in gen/ (`npx tsx clients/build.ts` from the repository root) and grpcio.
Exit status: 0 answered, 1 the gateway returned a gRPC error, 2 bad usage or unreadable file.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from deepsafe.v1 import common_pb2, gateway_pb2, gateway_pb2_grpc  # noqa: E402

CHUNK_BYTES = 64 * 1024
ENSEMBLES = {
    "voting": gateway_pb2.ENSEMBLE_METHOD_VOTING,
    "average": gateway_pb2.ENSEMBLE_METHOD_AVERAGE,
    "stacking": gateway_pb2.ENSEMBLE_METHOD_STACKING,
}


def requests(path, header):
    """The header first, then the file in chunks as it is read (never whole in memory)."""
    yield gateway_pb2.DetectRequest(header=header)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield gateway_pb2.DetectRequest(chunk=chunk)


def detect(stub, path, models=(), ensemble=None, include_random_weights=False, timeout=300):
    header = gateway_pb2.DetectHeader(
        file_name=os.path.basename(path),
        declared_size=os.path.getsize(path),
        models=list(models),
        ensemble_method=ENSEMBLES[ensemble] if ensemble else gateway_pb2.ENSEMBLE_METHOD_UNSPECIFIED,
        include_random_weights=include_random_weights,
    )
    return stub.Detect(requests(path, header), timeout=timeout)


def describe(res):
    verdict = gateway_pb2.Verdict.Name(res.verdict).removeprefix("VERDICT_")
    score = f"score {res.ensemble_score:.3f} (threshold {res.threshold:g})" if res.HasField("ensemble_score") else "no score"
    lines = [f"{verdict}  {score}  [{res.request_id}]"]
    if res.note:
        lines.append(f"  note: {res.note}")
    for m in res.model_results:
        if m.error_code:
            lines.append(f"  {m.model:<20} error {m.error_code}: {m.error_message}")
        else:
            kind = common_pb2.WeightsKind.Name(m.weights_kind).removeprefix("WEIGHTS_KIND_")
            lines.append(f"  {m.model:<20} p(fake) {m.prediction.probability_fake:.3f}, weights {kind}, counted {m.used_in_verdict}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--gateway", default=os.environ.get("DEEPSAFE_GATEWAY", "localhost:8000"), help="host:port (gRPC, plaintext)")
    parser.add_argument("--models", default="", help="comma-separated detectors (default: the media type's defaults)")
    parser.add_argument("--ensemble", choices=sorted(ENSEMBLES))
    parser.add_argument("--include-random-weights", action="store_true", help="count random test weights (testing only)")
    parser.add_argument("--json", action="store_true", help="print the whole response as JSON")
    args = parser.parse_args()
    if not os.path.isfile(args.file):
        print(f"detect.py: {args.file}: not a readable file", file=sys.stderr)
        return 2
    with grpc.insecure_channel(args.gateway) as channel:
        stub = gateway_pb2_grpc.DeepSafeServiceStub(channel)
        try:
            res = detect(stub, args.file, [m for m in args.models.split(",") if m], args.ensemble, args.include_random_weights)
        except grpc.RpcError as err:
            print(f"detect.py: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
    print(json_format.MessageToJson(res) if args.json else describe(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
