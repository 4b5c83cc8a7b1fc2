"""The full grid: 50 seeds x 3 training sizes x 5 smoothing levels, plus the true model."""
import numpy as np

from .calibration import evaluate
from .data import TRAIN_SIZES, TRUE_NORM, make_problem
from .logreg import fit_logreg, smooth_labels

SEEDS = range(50)
EPSILONS = (0.0, 0.05, 0.1, 0.2, 0.3)
METRICS = ("accuracy", "nll", "ece", "overconfidence", "w_norm")


def run_seed(seed):
    rows = []
    w_true, (X_test, y_test), train = make_problem(seed)
    ref = evaluate(X_test @ w_true, y_test)
    ref["w_norm"] = float(np.linalg.norm(w_true))
    rows.append({"seed": seed, "model": "true", "n": 0, "eps": float("nan"), **ref})
    for n in TRAIN_SIZES:
        X, y = train[n]
        for eps in EPSILONS:            # all eps share this (seed, n) training set
            w, b, iters = fit_logreg(X, smooth_labels(y, eps))
            m = evaluate(X_test @ w + b, y_test)
            m["w_norm"] = float(np.linalg.norm(w))
            rows.append({"seed": seed, "model": "fit", "n": n, "eps": eps,
                         "newton_iters": iters, **m})
    return rows


def summarise(rows):
    """Mean and population std (ddof=0) of every metric per (n, eps), and for the true model."""
    groups = [("true", 0, None)] + [("fit", n, e) for n in TRAIN_SIZES for e in EPSILONS]
    out = []
    for model, n, eps in groups:
        sel = [r for r in rows if r["model"] == model and r["n"] == n
               and (eps is None or r["eps"] == eps)]
        entry = {"model": model, "n": n, "eps": eps, "seeds": len(sel)}
        for k in METRICS:
            vals = np.array([r[k] for r in sel])
            entry[k + "_mean"] = float(vals.mean())
            entry[k + "_std"] = float(vals.std(ddof=0))
        out.append(entry)
    return out


def best_eps_by_ece(summary):
    best = {}
    for n in TRAIN_SIZES:
        cands = [s for s in summary if s["model"] == "fit" and s["n"] == n]
        b = min(cands, key=lambda s: s["ece_mean"])
        best[n] = (b["eps"], b["ece_mean"])
    return best
