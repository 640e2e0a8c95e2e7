"""Export check for every candidate as if it had won: calibrate, export to ONNX, compare with
scikit-learn (train.py's own functions). Used by deploy/test/retrain.test.ts, which then runs each
graph in onnxruntime-node as the gateway does.

argv[1]: a train.py request (X, y); argv[2]: output directory for <name>.onnx and results.json.
"""

import json
import sys
import warnings

import numpy as np
from sklearn.model_selection import StratifiedKFold

import train


def main(request_path, out_dir):
    req = json.load(open(request_path))
    X = np.array([[np.nan if v is None else v for v in row] for row in req["X"]], dtype=np.float64)
    y = np.array(req["y"], dtype=np.int64)
    folds = 3
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    smallest = int(min(np.sum(y == 0), np.sum(y == 1)))
    results = {}
    for name, (estimator, _grid, _space) in train.candidates(0, len(y) - len(y) // folds, smallest - smallest // folds).items():
        best = train.pipeline(estimator).fit(X, y)
        model, _ = train.calibrate(best, cv, folds, X, y)
        graph, output, proba, parity = train.export_onnx(model, X)
        with open(f"{out_dir}/{name}.onnx", "wb") as f:
            f.write(graph)
        results[name] = {"output": output, "parity": parity, "proba": proba.astype(np.float64).tolist()}
    json.dump(results, open(f"{out_dir}/results.json", "w"))


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=UserWarning)
    main(sys.argv[1], sys.argv[2])
