#!/usr/bin/env python3
# Label smoothing / calibration study (logistic regression, synthetic data).
#
# Status: core pipeline works (data -> smoothed fit -> test metrics).
# Still missing, see README: oracle reference, conf-acc gap, table output.

import json
import os
import numpy as np

D = 20
W_NORM = 3.0
N_TEST = 20000
TRAIN_NS = [200, 500, 2000]
EPS_LIST = [0.0, 0.05, 0.1, 0.2, 0.3]
N_SEEDS = 10   # quick run while developing -- TODO bump to 50 for the real numbers
N_BINS = 15


def sigm(z):
    return 1.0 / (1.0 + np.exp(-z))


def gen_data(rng, w, n):
    x = rng.normal(0.0, 1.0, size=(n, D))
    y = rng.binomial(1, sigm(x @ w)).astype(float)
    return x, y


def newton_fit(x, t, max_iter=100, tol=1e-9):
    """logistic regression on soft targets t in [0,1]; returns (w, b).
    no regularisation, bias is the last coordinate of the parameter vector."""
    n = x.shape[0]
    xb = np.concatenate([x, np.ones((n, 1))], axis=1)
    theta = np.zeros(xb.shape[1])
    for _ in range(max_iter):
        p = sigm(xb @ theta)
        g = xb.T @ (p - t) / n
        if np.linalg.norm(g) < tol:
            break
        H = xb.T @ (xb * (p * (1 - p))[:, None]) / n
        theta -= np.linalg.solve(H, g)
    else:
        print("warning: newton hit max_iter, |g| =", np.linalg.norm(g))
    return theta[:-1], theta[-1]


def ece(p, y):
    conf = np.where(p > 0.5, p, 1 - p)
    correct = (np.where(p > 0.5, 1.0, 0.0) == y)
    b = np.minimum(((conf - 0.5) / 0.5 * N_BINS).astype(int), N_BINS - 1)
    total = 0.0
    for k in range(N_BINS):
        m = b == k
        if m.sum() == 0:
            continue
        total += m.sum() / len(p) * abs(correct[m].mean() - conf[m].mean())
    return total


def test_metrics(p, y):
    eps_log = 1e-12
    return {
        "acc": float(np.mean((p > 0.5) == (y == 1))),
        "nll": float(-np.mean(y * np.log(p + eps_log) + (1 - y) * np.log(1 - p + eps_log))),
        "ece": float(ece(p, y)),
    }


def main():
    os.makedirs("results", exist_ok=True)
    per_run = []
    for seed in range(N_SEEDS):
        rng = np.random.default_rng(seed)
        w_star = rng.normal(size=D)
        w_star = W_NORM * w_star / np.linalg.norm(w_star)
        x_te, y_te = gen_data(rng, w_star, N_TEST)
        for n in TRAIN_NS:
            x_tr, y_tr = gen_data(rng, w_star, n)
            for eps in EPS_LIST:
                t = (1 - eps) * y_tr + eps / 2
                w, b = newton_fit(x_tr, t)
                m = test_metrics(sigm(x_te @ w + b), y_te)
                m.update(seed=seed, n=n, eps=eps, wnorm=float(np.linalg.norm(w)))
                per_run.append(m)
        print("seed", seed, "done")

    # average over seeds
    agg = {}
    for n in TRAIN_NS:
        for eps in EPS_LIST:
            rs = [r for r in per_run if r["n"] == n and r["eps"] == eps]
            agg[f"n={n},eps={eps}"] = {k: float(np.mean([r[k] for r in rs]))
                                       for k in ("acc", "nll", "ece", "wnorm")}
    with open("results/metrics.json", "w") as f:
        json.dump({"n_seeds": N_SEEDS, "mean": agg, "runs": per_run}, f, indent=1)
    for key, v in agg.items():
        print(key, " ".join(f"{k}={val:.4f}" for k, val in v.items()))


if __name__ == "__main__":
    main()
