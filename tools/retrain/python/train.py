"""Train the stacking meta-learner: 8 classifiers on the detectors' P(fake) columns, tuned by stratified
k-fold CV, the winner picked by its CV score (never by the test split), calibrated (Platt, inside the
model), exported whole to ONNX and checked against scikit-learn with onnxruntime.

Reads one JSON request (argv[1]), writes one JSON result (argv[2]) and the ONNX graph. Metrics are not
computed here: the caller scores every candidate's test-split probabilities with the project's own
metrics code (tools/evaluate/metrics.ts), so the report has one definition of AUC, EER and ECE.
"""

import json
import math
import sys
import time
import warnings

import lightgbm
import numpy as np
import onnx
import onnxmltools
import onnxruntime as ort
import optuna
import skl2onnx
import sklearn
import xgboost
from lightgbm import LGBMClassifier
from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
from skl2onnx import to_onnx, update_registered_converter
from skl2onnx.common.data_types import FloatTensorType
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from xgboost import XGBClassifier

# XGBoost and LightGBM inside a scikit-learn pipeline: onnxmltools' converters, registered with skl2onnx.
_CLASSIFIER_OPTIONS = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
update_registered_converter(
    XGBClassifier, "XGBoostXGBClassifier", calculate_linear_classifier_output_shapes, convert_xgboost, options=_CLASSIFIER_OPTIONS
)
update_registered_converter(
    LGBMClassifier, "LightGbmLGBMClassifier", calculate_linear_classifier_output_shapes, convert_lightgbm, options=_CLASSIFIER_OPTIONS
)

# ONNX opsets that onnxruntime-node 1.30 (the gateway's runtime) executes.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
# Largest |P(fake) from ONNX - P(fake) from scikit-learn| accepted before deployment. Not 1e-6: ONNX
# tree ensembles hold split thresholds in float32, so a training row whose value sits next to a
# threshold (detector scores saturate near 1.0, where float32 values are adjacent) can take the other
# branch of one tree — measured up to 4e-3 for a random forest here. Converter bugs show up far above
# this (0.14 to 0.7 seen with XGBoost "hist" splits and with calibrated SVC(probability=True)). The
# deployed model's metrics are computed from the ONNX graph's own answers, never from scikit-learn's.
PARITY_TOLERANCE = 2e-2


def candidates(seed, n_train_fold, smallest_in_fold):
    """name -> (estimator, grid for GridSearchCV, optuna search space). Grids are small on purpose:
    the training sets are a few hundred rows at most and every cell costs k fits."""
    max_k = max(1, min(15, n_train_fold - 1))
    # The SVM's own Platt scaling folds, inside each CV training fold.
    svm_folds = max(2, min(3, smallest_in_fold))
    k_grid = sorted({k for k in (3, 5, 9, 15) if k <= max_k} or {max_k})
    return {
        "logistic_regression": (
            LogisticRegression(max_iter=1000),
            {"C": [0.1, 1.0, 10.0]},
            lambda t: {"C": t.suggest_float("C", 1e-3, 1e2, log=True)},
        ),
        "random_forest": (
            RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1),
            {"max_depth": [None, 3], "min_samples_leaf": [1, 3]},
            lambda t: {
                "n_estimators": t.suggest_int("n_estimators", 50, 300, step=50),
                "max_depth": t.suggest_int("max_depth", 2, 8),
                "min_samples_leaf": t.suggest_int("min_samples_leaf", 1, 5),
            },
        ),
        "gradient_boosting": (
            GradientBoostingClassifier(random_state=seed),
            {"n_estimators": [50, 100], "max_depth": [2, 3]},
            lambda t: {
                "n_estimators": t.suggest_int("n_estimators", 25, 200, step=25),
                "max_depth": t.suggest_int("max_depth", 1, 4),
                "learning_rate": t.suggest_float("learning_rate", 0.01, 0.3, log=True),
            },
        ),
        # An SVM has no probabilities of its own: Platt scaling of its decision function, as scikit-learn
        # recommends (SVC(probability=True) is deprecated and can rank differently from its decision function).
        "svm": (
            CalibratedClassifierCV(SVC(random_state=seed), method="sigmoid", cv=svm_folds, ensemble=False),
            {"estimator__C": [0.5, 1.0, 4.0]},
            lambda t: {"estimator__C": t.suggest_float("estimator__C", 1e-2, 1e2, log=True), "estimator__gamma": t.suggest_float("estimator__gamma", 1e-3, 1e1, log=True)},
        ),
        "knn": (
            KNeighborsClassifier(),
            {"n_neighbors": k_grid, "weights": ["uniform", "distance"]},
            lambda t: {"n_neighbors": t.suggest_int("n_neighbors", 1, max_k), "weights": t.suggest_categorical("weights", ["uniform", "distance"])},
        ),
        "naive_bayes": (
            GaussianNB(),
            {"var_smoothing": [1e-9, 1e-6, 1e-3]},
            lambda t: {"var_smoothing": t.suggest_float("var_smoothing", 1e-12, 1e-1, log=True)},
        ),
        "xgboost": (
            # "exact" splits between data values; "hist" puts split points on training values, where the
            # float32 ONNX graph and XGBoost disagree by a rounding (P(fake) off by up to 0.45 on such rows).
            XGBClassifier(n_estimators=100, learning_rate=0.1, tree_method="exact", random_state=seed, n_jobs=1, verbosity=0),
            {"n_estimators": [50, 100], "max_depth": [2, 3]},
            lambda t: {
                "n_estimators": t.suggest_int("n_estimators", 25, 300, step=25),
                "max_depth": t.suggest_int("max_depth", 1, 6),
                "learning_rate": t.suggest_float("learning_rate", 0.01, 0.3, log=True),
            },
        ),
        "lightgbm": (
            # Small sets: LightGBM's default of 20 rows per leaf would forbid every split.
            LGBMClassifier(n_estimators=100, learning_rate=0.1, random_state=seed, n_jobs=1, verbose=-1),
            {"num_leaves": [4, 8], "min_child_samples": [2, 5]},
            lambda t: {
                "n_estimators": t.suggest_int("n_estimators", 25, 300, step=25),
                "num_leaves": t.suggest_int("num_leaves", 2, 16),
                "min_child_samples": t.suggest_int("min_child_samples", 1, 10),
                "learning_rate": t.suggest_float("learning_rate", 0.01, 0.3, log=True),
            },
        ),
    }


def pipeline(estimator):
    # Imputation and scaling live inside the model, so the ONNX graph does them too: a detector that
    # failed on one request arrives as NaN and gets the training median.
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("classify", estimator),
        ]
    )


def tune(name, estimator, grid, space, X, y, cv, optimizer, trials, seed):
    """Best parameters by mean CV ROC AUC; returns (params, cv scores of the best)."""
    pipe = pipeline(estimator)
    if optimizer == "grid":
        search = GridSearchCV(pipe, {f"classify__{k}": v for k, v in grid.items()}, scoring="roc_auc", cv=cv, n_jobs=1, error_score="raise")
        search.fit(X, y)
        best = search.best_index_
        scores = [search.cv_results_[f"split{i}_test_score"][best] for i in range(cv.get_n_splits())]
        return {k.removeprefix("classify__"): v for k, v in search.best_params_.items()}, scores

    def objective(trial):
        params = space(trial)
        p = clone(pipe).set_params(**{f"classify__{k}": v for k, v in params.items()})
        s = cross_val_score(p, X, y, scoring="roc_auc", cv=cv, n_jobs=1, error_score="raise")
        trial.set_user_attr("scores", [float(v) for v in s])
        trial.set_user_attr("params", params)
        return float(np.mean(s))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed), study_name=name)
    study.optimize(objective, n_trials=trials)
    return study.best_trial.user_attrs["params"], study.best_trial.user_attrs["scores"]


def calibrate(best, cv, folds, Xtr, ytr):
    """Platt scaling (fitted out of fold on the training split) of the winning classifier, inside its
    pipeline, so the exported graph outputs calibrated P(fake). (Wrapping the whole pipeline instead
    converts wrongly with skl2onnx 1.20: it calibrates predict_proba where scikit-learn calibrates
    decision_function.) The SVM candidate is Platt-scaled already and is not wrapped twice."""
    base = clone(best.named_steps["classify"])
    if isinstance(base, CalibratedClassifierCV):
        info = {"folds": int(base.cv), "fittedOn": "training split: the classifier on all of it, the sigmoid on its out-of-fold scores"}
        return clone(best).fit(Xtr, ytr), {"method": "sigmoid", **info}
    model = clone(best).set_params(classify=CalibratedClassifierCV(base, method="sigmoid", cv=cv)).fit(Xtr, ytr)
    info = {"folds": folds, "fittedOn": "training split: one copy per fold, each with a sigmoid fitted on its held-out fold, averaged"}
    return model, {"method": "sigmoid", **info}


def export_onnx(model, X):
    """The whole fitted pipeline as ONNX (input "features", float32 [N, columns]); returns the graph,
    its probability output's name, its P(fake) for every row of X, and the largest difference from
    scikit-learn on those rows."""
    onx = to_onnx(
        model,
        initial_types=[("features", FloatTensorType([None, X.shape[1]]))],
        options={id(model): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    graph = onx.SerializeToString()
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    prob_name = next(o.name for o in session.get_outputs() if "prob" in o.name.lower())
    onnx_p = session.run([prob_name], {"features": X.astype(np.float32)})[0][:, 1]
    parity = float(np.max(np.abs(onnx_p - model.predict_proba(X.astype(np.float32))[:, 1])))
    return graph, prob_name, onnx_p, parity


def finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


def main(request_path, result_path):
    req = json.load(open(request_path))
    seed = int(req["seed"])
    # JSON null = the detector gave no score for that file (failed or abstained): NaN, imputed.
    X = np.array([[np.nan if v is None else v for v in row] for row in req["X"]], dtype=np.float64)
    y = np.array(req["y"], dtype=np.int64)
    idx = np.arange(len(y))
    train_idx, test_idx = train_test_split(idx, test_size=req["test_fraction"], stratify=y, random_state=seed)
    train_idx.sort()
    test_idx.sort()
    Xtr, ytr, Xte = X[train_idx], y[train_idx], X[test_idx]
    smallest = int(min(np.sum(ytr == 0), np.sum(ytr == 1)))
    folds = min(int(req["folds"]), smallest)
    if folds < 2:
        raise SystemExit(f"the training split has {smallest} file(s) of its smaller class: at least 2 of each are needed for cross-validation")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    n_train_fold = len(ytr) - math.ceil(len(ytr) / folds)
    smallest_in_fold = smallest - math.ceil(smallest / folds)

    out = {"split": {"train": train_idx.tolist(), "test": test_idx.tolist(), "seed": seed}, "folds": folds, "optimizer": req["optimizer"], "candidates": []}
    fitted = {}
    for name, (estimator, grid, space) in candidates(seed, n_train_fold, smallest_in_fold).items():
        started = time.perf_counter()
        params, scores = tune(name, estimator, grid, space, Xtr, ytr, cv, req["optimizer"], int(req["trials"]), seed)
        model = pipeline(clone(estimator).set_params(**params)).fit(Xtr, ytr)
        fitted[name] = model
        out["candidates"].append(
            {
                "name": name,
                "params": {k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v)) for k, v in params.items()},
                "cvAucMean": float(np.mean(scores)),
                "cvAucStd": float(np.std(scores)),
                "cvAucFolds": [finite(s) for s in scores],
                "testProba": model.predict_proba(Xte)[:, 1].tolist(),
                "seconds": time.perf_counter() - started,
            }
        )
        print(f"  {name:20s} CV AUC {np.mean(scores):.3f} ± {np.std(scores):.3f}  {params}", file=sys.stderr, flush=True)

    # Selection on CV only: highest mean AUC, then the steadier one, then the simpler (list order).
    order = {c["name"]: i for i, c in enumerate(out["candidates"])}
    winner = max(out["candidates"], key=lambda c: (round(c["cvAucMean"], 6), -round(c["cvAucStd"], 6), -order[c["name"]]))["name"]
    out["winner"] = winner

    calibrated, out["calibration"] = calibrate(fitted[winner], cv, folds, Xtr, ytr)
    onnx_bytes, prob_name, onnx_all, parity = export_onnx(calibrated, X)
    if not parity <= PARITY_TOLERANCE:
        raise SystemExit(f"the ONNX export of {winner} differs from scikit-learn by {parity:.2e} (> {PARITY_TOLERANCE:.0e}): not deployed")
    with open(req["onnxPath"], "wb") as f:
        f.write(onnx_bytes)
    out["onnx"] = {
        "input": "features",
        "output": prob_name,
        "opset": TARGET_OPSET,
        "parityMaxAbsDiff": parity,
        # What the deployed graph answers for every row (float32 inputs, as the gateway feeds it).
        "proba": onnx_all.astype(np.float64).tolist(),
    }
    out["winnerCalibratedTestProba"] = onnx_all[test_idx].astype(np.float64).tolist()
    out["versions"] = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "xgboost": xgboost.__version__,
        "lightgbm": lightgbm.__version__,
        "optuna": optuna.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnxmltools": onnxmltools.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }
    with open(result_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=UserWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    main(sys.argv[1], sys.argv[2])
