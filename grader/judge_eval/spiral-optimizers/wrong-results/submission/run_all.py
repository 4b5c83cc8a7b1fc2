"""Runs the optimizer x learning-rate x seed grid and writes results/.

python3 run_all.py [outdir]
"""
import json
import os
import sys

import numpy as np

from src.nets import initial_params, logits, xent, xent_grad
from src.optimizers import BUILDERS
from src.spiral import spiral_dataset

GRIDS = {"sgd": (0.03, 0.1, 0.3, 1.0),
         "momentum": (0.003, 0.01, 0.03, 0.1),
         "adam": (0.001, 0.003, 0.01, 0.03)}
SEEDS = (0, 1, 2, 3, 4)
STEPS = 4000
BATCH = 32
CHECKPOINTS = (500, 1000, 2000, 4000)


def single_run(name, lr, seed):
    rng = np.random.default_rng(seed)
    xtr, ytr = spiral_dataset(rng, 200)
    xte, yte = spiral_dataset(rng, 500)
    theta = initial_params(rng)
    step = BUILDERS[name](lr)
    curve = {}
    order, cursor = rng.permutation(400), 0
    for it in range(1, STEPS + 1):
        if cursor + BATCH > 400:          # epoch done: reshuffle, drop the last 16
            order, cursor = rng.permutation(400), 0
        idx = order[cursor:cursor + BATCH]
        cursor += BATCH
        _, g = xent_grad(theta, xtr[idx], ytr[idx])
        step(theta, g)
        if it in CHECKPOINTS:
            curve[it] = float(xent(logits(theta, xtr), ytr))
    acc = float(np.mean((logits(theta, xte) > 0) == (yte > 0.5)))
    return {"final_loss": curve[STEPS], "test_acc": acc, "curve": curve}


def main(outdir="results"):
    os.makedirs(outdir, exist_ok=True)
    table = []
    for name, grid in GRIDS.items():
        for lr in grid:
            runs = [single_run(name, lr, s) for s in SEEDS]
            fl = np.array([r["final_loss"] for r in runs])
            ta = np.array([r["test_acc"] for r in runs])
            entry = {"optimizer": name, "lr": lr,
                     "final_loss": [float(fl.mean()), float(fl.std())],
                     "test_acc": [float(ta.mean()), float(ta.std())],
                     "mean_curve": {c: float(np.mean([r["curve"][c] for r in runs]))
                                    for c in CHECKPOINTS},
                     "per_seed": runs}
            table.append(entry)
            print(f"{name:>8} lr={lr:<6} loss={fl.mean():.4f}±{fl.std():.4f} "
                  f"acc={ta.mean():.3f}±{ta.std():.3f}", flush=True)

    best = {}
    for name in GRIDS:
        cand = [e for e in table if e["optimizer"] == name]
        best[name] = min(cand, key=lambda e: e["final_loss"][0])

    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"grid": table, "best_lr": {k: v["lr"] for k, v in best.items()}}, f, indent=1)

    md = ["### Final loss / test accuracy (step 4000, 5 seeds)", "",
          "| optimizer | lr | train loss | test acc |", "|---|---|---|---|"]
    for e in table:
        md.append("| {} | {} | {:.4f} ± {:.4f} | {:.3f} ± {:.3f} |".format(
            e["optimizer"], e["lr"], *e["final_loss"], *e["test_acc"]))
    md += ["", "### Train loss vs step at the best lr", "",
           "| optimizer | best lr | 500 | 1000 | 2000 | 4000 |", "|---|---|---|---|---|---|"]
    for name, e in best.items():
        md.append("| {} | {} | ".format(name, e["lr"])
                  + " | ".join("{:.4f}".format(e["mean_curve"][c]) for c in CHECKPOINTS) + " |")
    with open(os.path.join(outdir, "table.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main(*sys.argv[1:])
