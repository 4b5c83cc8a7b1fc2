"""Two-spirals optimizer study: generate data, train the grid, write results/summary.md."""
import json
import os
import sys
import traceback

import numpy as np

from optim import RULES

LEARNING_RATES = {
    "sgd": [0.03, 0.1, 0.3, 1.0],
    "momentum": [0.003, 0.01, 0.03, 0.1],
    "adam": [0.001, 0.003, 0.01, 0.03],
}
SEEDS = [0, 1, 2, 3, 4]
STEPS, BATCH = 4000, 32
MILESTONES = [500, 1000, 2000, 4000]


def spirals(rng, n):
    t = rng.uniform(0.05, 1.0, 2 * n)
    k = np.repeat([0, 1], n)
    phi = 3 * np.pi * t + np.pi * k
    X = np.c_[t * np.cos(phi), t * np.sin(phi)] + rng.normal(0, 0.02, (2 * n, 2))
    return X, k.astype(np.float64)


def init_net(rng):
    dims = [2, 32, 32, 1]
    net = []
    for a, b in zip(dims, dims[1:]):
        net += [rng.normal(size=(a, b)) * a ** -0.5, np.zeros(b)]
    return net


def predict(net, X):
    W1, b1, W2, b2, W3, b3 = net
    H1 = np.tanh(X @ W1 + b1)
    H2 = np.tanh(H1 @ W2 + b2)
    return H1, H2, (H2 @ W3 + b3).ravel()


def full_loss(net, X, y):
    z = predict(net, X)[2]
    return float(np.mean(np.logaddexp(0, z) - y * z))


def gradient(net, X, y):
    W1, b1, W2, b2, W3, b3 = net
    H1, H2, z = predict(net, X)
    e = (1 / (1 + np.exp(-z)) - y)[:, None] / len(y)
    D2 = (e @ W3.T) * (1 - H2 ** 2)
    D1 = (D2 @ W2.T) * (1 - H1 ** 2)
    return [X.T @ D1, D1.sum(0), H1.T @ D2, D2.sum(0), H2.T @ e, e.sum(0)]


def train(rule, lr, seed):
    # separate generators so data/init are identical for all optimizers
    data_rng = np.random.default_rng(1000 + seed)
    init_rng = np.random.default_rng(2000 + seed)
    batch_rng = np.random.default_rng(3000 + seed)
    Xtr, ytr = spirals(data_rng, 200)
    Xte, yte = spirals(data_rng, 500)
    net = init_net(init_rng)
    update = RULES[rule](net, lr)
    losses = {}
    step = 0
    while step < STEPS:
        order = batch_rng.permutation(len(ytr))
        for j in range(0, len(order) - BATCH + 1, BATCH):
            b = order[j:j + BATCH]
            update(net, gradient(net, Xtr[b], ytr[b]))
            step += 1
            if step in MILESTONES:
                losses[step] = full_loss(net, Xtr, ytr)
            if step == STEPS:
                break
    acc = float(np.mean((predict(net, Xte)[2] > 0) == (yte == 1)))
    return {"loss": losses, "test_acc": acc}


def fmt(vals, digits):
    if not vals:
        return "n/a"
    return f"{np.mean(vals):.{digits}f} ± {np.std(vals):.{digits}f}"


def main(out):
    os.makedirs(out, exist_ok=True)
    results = {}
    for rule, lrs in LEARNING_RATES.items():
        for lr in lrs:
            ok = []
            for seed in SEEDS:
                try:
                    ok.append(train(rule, lr, seed))
                except Exception as exc:  # keep the sweep going if one config blows up
                    print(f"  !! {rule} lr={lr} seed={seed} failed: {exc!r}", flush=True)
            results[f"{rule}@{lr}"] = ok
            print(f"{rule} lr={lr}: {len(ok)}/{len(SEEDS)} runs done", flush=True)

    with open(os.path.join(out, "raw.json"), "w") as f:
        json.dump(results, f)

    lines = ["| optimizer | lr | final train loss | test accuracy |", "|---|---|---|---|"]
    best = {}
    for rule, lrs in LEARNING_RATES.items():
        for lr in lrs:
            runs = results[f"{rule}@{lr}"]
            final = [r["loss"][STEPS] for r in runs]
            lines.append(f"| {rule} | {lr} | {fmt(final, 4)} | {fmt([r['test_acc'] for r in runs], 3)} |")
            if final and (rule not in best or np.mean(final) < best[rule][1]):
                best[rule] = (lr, float(np.mean(final)))
    lines += ["", "| optimizer | best lr | " + " | ".join(f"loss @ {m}" for m in MILESTONES) + " |",
              "|---|---|" + "---|" * len(MILESTONES)]
    for rule in LEARNING_RATES:
        if rule not in best:
            lines.append(f"| {rule} | n/a |" + " |" * len(MILESTONES))
            continue
        runs = results[f"{rule}@{best[rule][0]}"]
        lines.append(f"| {rule} | {best[rule][0]} | "
                     + " | ".join(f"{np.mean([r['loss'][m] for r in runs]):.4f}" for m in MILESTONES)
                     + " |")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results")
