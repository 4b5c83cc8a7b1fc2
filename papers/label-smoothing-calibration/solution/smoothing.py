"""Label smoothing and calibration of unregularised logistic regression."""
import json, os, sys
import numpy as np

D, NORM, N_TEST, BINS = 20, 3.0, 20000, 15
SEEDS = list(range(50))
N_TRAIN = [200, 500, 2000]
EPS = [0.0, 0.05, 0.1, 0.2, 0.3]


def sample(n, w, rng):
    X = rng.normal(size=(n, D))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ w))).astype(float)
    return X, y


def fit(X, y, eps, iters=100):
    """Newton's method on mean BCE with smoothed targets (1-eps)*y + eps/2."""
    A = np.c_[X, np.ones(len(y))]
    t = (1 - eps) * y + eps / 2
    b = np.zeros(A.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-A @ b))
        H = (A * (p * (1 - p))[:, None]).T @ A / len(y)
        step = np.linalg.solve(H, A.T @ (p - t) / len(y))
        b -= step
        if np.max(np.abs(step)) < 1e-10:
            return b
    raise RuntimeError("Newton did not converge (separable data?)")


def metrics(p, y):
    conf = np.maximum(p, 1 - p)
    correct = ((p > 0.5) == (y == 1)).astype(float)
    bins = np.minimum(((conf - 0.5) * 2 * BINS).astype(int), BINS - 1)
    ece = sum(abs(correct[bins == k].mean() - conf[bins == k].mean()) * np.mean(bins == k)
              for k in range(BINS) if np.any(bins == k))
    pc = np.clip(p, 1e-12, 1 - 1e-12)
    return {"acc": correct.mean(), "nll": -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)),
            "ece": ece, "gap": conf.mean() - correct.mean()}


def main(out="results"):
    os.makedirs(out, exist_ok=True)
    runs = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        w = rng.normal(size=D)
        w *= NORM / np.linalg.norm(w)
        Xte, yte = sample(N_TEST, w, rng)
        oracle = metrics(1 / (1 + np.exp(-Xte @ w)), yte)
        runs.append({"seed": seed, "n": None, "eps": "oracle", "w_norm": NORM, **oracle})
        for n in N_TRAIN:
            X, y = sample(n, w, rng)
            for eps in EPS:
                b = fit(X, y, eps)
                m = metrics(1 / (1 + np.exp(-(Xte @ b[:-1] + b[-1]))), yte)
                runs.append({"seed": seed, "n": n, "eps": eps, "w_norm": float(np.linalg.norm(b[:-1])), **m})
    runs = [{k: (float(v) if isinstance(v, np.floating) else v) for k, v in r.items()} for r in runs]
    keys = ["acc", "nll", "ece", "gap", "w_norm"]
    summary, lines = [], ["## Test metrics, mean +- std over %d seeds (d=%d, ||w*||=%g, %d test points)" % (len(SEEDS), D, NORM, N_TEST),
                          "", "| n_train | eps | accuracy | NLL | ECE | conf - acc | norm of w |", "|---|---|---|---|---|---|---|"]
    for n, eps in [(None, "oracle")] + [(n, e) for n in N_TRAIN for e in EPS]:
        rs = [r for r in runs if r["n"] == n and r["eps"] == eps]
        row = {"n": n, "eps": eps, **{k: [float(np.mean([r[k] for r in rs])), float(np.std([r[k] for r in rs]))] for k in keys}}
        summary.append(row)
        lines.append("| %s | %s | " % (n or "-", eps) + " | ".join("%.3f +- %.3f" % tuple(row[k]) for k in keys) + " |")
    for n in N_TRAIN:
        best = min((r for r in summary if r["n"] == n), key=lambda r: r["ece"][0])
        lines.append("\nn_train=%d: lowest mean ECE at eps=%s (%.3f)" % (n, best["eps"], best["ece"][0]))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"runs": runs, "summary": summary}, f, indent=1)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
