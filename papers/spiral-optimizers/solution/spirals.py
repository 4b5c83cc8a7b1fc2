"""SGD vs heavy-ball momentum vs Adam on a tiny numpy MLP (two spirals)."""
import json, os, sys
import numpy as np

SEEDS, STEPS, BATCH, HID = [0, 1, 2, 3, 4], 4000, 32, 32
CHECKS = [500, 1000, 2000, 4000]
GRID = {"sgd": [0.03, 0.1, 0.3, 1.0], "momentum": [0.003, 0.01, 0.03, 0.1],
        "adam": [0.001, 0.003, 0.01, 0.03]}


def spirals(n_per_class, rng):
    X, y = [], []
    for k in (0, 1):
        t = rng.uniform(0.05, 1.0, n_per_class)
        th = 3 * np.pi * t + k * np.pi
        X.append(np.c_[t * np.cos(th), t * np.sin(th)]
                 + rng.normal(0, 0.02, (n_per_class, 2)))
        y.append(np.full(n_per_class, k))
    return np.vstack(X), np.concatenate(y).astype(float)


def init(rng):
    sizes = [2, HID, HID, 1]
    return [a for i, o in zip(sizes[:-1], sizes[1:])
            for a in (rng.normal(0, 1 / np.sqrt(i), (i, o)), np.zeros(o))]


def forward(p, X):
    h1 = np.tanh(X @ p[0] + p[1])
    h2 = np.tanh(h1 @ p[2] + p[3])
    return h1, h2, (h2 @ p[4] + p[5])[:, 0]


def loss_acc(p, X, y):
    z = forward(p, X)[2]
    loss = np.mean(np.logaddexp(0, z) - y * z)  # binary cross-entropy on logits
    return loss, np.mean((z > 0) == (y == 1))


def grads(p, X, y):
    h1, h2, z = forward(p, X)
    dz = ((1 / (1 + np.exp(-z))) - y)[:, None] / len(y)
    d2 = (dz @ p[4].T) * (1 - h2 ** 2)
    d1 = (d2 @ p[2].T) * (1 - h1 ** 2)
    return [X.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ dz, dz.sum(0)]


def train(opt, lr, seed):
    rng = np.random.default_rng(seed)
    Xtr, ytr = spirals(200, rng)
    Xte, yte = spirals(500, rng)
    p = init(rng)
    m = [np.zeros_like(a) for a in p]
    v = [np.zeros_like(a) for a in p]
    curve, order, pos = {}, rng.permutation(len(ytr)), 0
    for t in range(1, STEPS + 1):
        if pos + BATCH > len(ytr):
            order, pos = rng.permutation(len(ytr)), 0
        idx = order[pos:pos + BATCH]; pos += BATCH
        g = grads(p, Xtr[idx], ytr[idx])
        for i in range(len(p)):
            if opt == "sgd":
                p[i] -= lr * g[i]
            elif opt == "momentum":
                m[i] = 0.9 * m[i] + g[i]
                p[i] -= lr * m[i]
            else:
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] ** 2
                mh, vh = m[i] / (1 - 0.9 ** t), v[i] / (1 - 0.999 ** t)
                p[i] -= lr * mh / (np.sqrt(vh) + 1e-8)
        if t in CHECKS:
            curve[t] = float(loss_acc(p, Xtr, ytr)[0])
    tl, ta = loss_acc(p, Xtr, ytr)
    return {"train_loss": float(tl), "train_acc": float(ta),
            "test_acc": float(loss_acc(p, Xte, yte)[1]), "curve": curve}


def main(out="results"):
    os.makedirs(out, exist_ok=True)
    runs = [{"opt": o, "lr": lr, "seed": s, **train(o, lr, s)}
            for o in GRID for lr in GRID[o] for s in SEEDS]
    ms = lambda xs: (float(np.mean(xs)), float(np.std(xs)))
    rows, best = [], {}
    for o in GRID:
        for lr in GRID[o]:
            r = [x for x in runs if x["opt"] == o and x["lr"] == lr]
            row = {"opt": o, "lr": lr,
                   "train_loss": ms([x["train_loss"] for x in r]),
                   "test_acc": ms([x["test_acc"] for x in r]),
                   "curve": {c: ms([x["curve"][c] for x in r])[0] for c in CHECKS}}
            rows.append(row)
            if o not in best or row["train_loss"][0] < best[o]["train_loss"][0]:
                best[o] = row
    lines = ["## Table 1: final (step %d) train loss and test accuracy, mean +- std over seeds %s" % (STEPS, SEEDS),
             "", "| optimizer | lr | train loss | test acc |", "|---|---|---|---|"]
    lines += ["| %s | %g | %.4f +- %.4f | %.3f +- %.3f |" % (r["opt"], r["lr"], *r["train_loss"], *r["test_acc"]) for r in rows]
    lines += ["", "## Table 2: mean train loss vs step at each optimizer's best lr", "",
              "| optimizer | lr | " + " | ".join("step %d" % c for c in CHECKS) + " |",
              "|---|---|" + "---|" * len(CHECKS)]
    lines += ["| %s | %g | " % (o, b["lr"]) + " | ".join("%.4f" % b["curve"][c] for c in CHECKS) + " |"
              for o, b in best.items()]
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"runs": runs, "summary": rows, "best_lr": {o: b["lr"] for o, b in best.items()}}, f, indent=1)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
