"""Full sweep: 3 optimizers x 4 learning rates x 5 seeds, then the two tables.

Usage: python3 sweep.py OUTDIR
"""
import csv
import json
import os
import sys
import time

import numpy as np

from twospiral.experiment import LOG_AT, TOTAL_STEPS, run

LR_GRID = {
    "sgd": [0.03, 0.1, 0.3, 1.0],
    "momentum": [0.003, 0.01, 0.03, 0.1],   # SGD grid / 10 (same lr / (1 - mu))
    "adam": [0.001, 0.003, 0.01, 0.03],
}
SEEDS = range(5)
PRETTY = {"sgd": "SGD", "momentum": "Momentum (mu=0.9)", "adam": "Adam"}


def mean_std(values):
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std())  # population std (ddof=0)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    runs = []
    t0 = time.time()
    for opt in LR_GRID:
        for lr in LR_GRID[opt]:
            for seed in SEEDS:
                r = run(opt, lr, seed)
                runs.append(r)
                print(f"[{time.time() - t0:6.1f}s] {opt:8s} lr={lr:<6g} seed={seed} "
                      f"final loss={r['final_train_loss']:.4f} test acc={r['test_acc']:.3f}",
                      flush=True)
    print(f"{len(runs)} runs finished in {time.time() - t0:.1f}s")

    # per-run CSV
    with open(os.path.join(outdir, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["optimizer", "lr", "seed", "final_train_loss", "test_acc"]
                   + [f"loss_step_{s}" for s in LOG_AT])
        for r in runs:
            w.writerow([r["optimizer"], r["lr"], r["seed"], f"{r['final_train_loss']:.6g}",
                        f"{r['test_acc']:.4f}"] + [f"{r['loss_at_step'][s]:.6g}" for s in LOG_AT])

    # aggregate over seeds
    summary = []
    for opt in LR_GRID:
        for lr in LR_GRID[opt]:
            rs = [r for r in runs if r["optimizer"] == opt and r["lr"] == lr]
            loss_m, loss_s = mean_std([r["final_train_loss"] for r in rs])
            acc_m, acc_s = mean_std([r["test_acc"] for r in rs])
            curve = {str(s): mean_std([r["loss_at_step"][s] for r in rs])[0] for s in LOG_AT}
            summary.append({"optimizer": opt, "lr": lr, "n_seeds": len(rs),
                            "train_loss_mean": loss_m, "train_loss_std": loss_s,
                            "test_acc_mean": acc_m, "test_acc_std": acc_s,
                            "mean_loss_at_step": curve})

    # best lr per optimizer = lowest mean final training loss
    best = {}
    for opt in LR_GRID:
        rows = [s for s in summary if s["optimizer"] == opt]
        best[opt] = min(rows, key=lambda s: s["train_loss_mean"])["lr"]

    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"steps": TOTAL_STEPS, "seeds": list(SEEDS), "configs": summary,
                   "best_lr": best}, f, indent=2)

    lines = [f"# Two spirals: SGD vs momentum vs Adam ({TOTAL_STEPS} steps, "
             f"{len(SEEDS)} seeds, mean ± std)", "",
             "## Final training loss and test accuracy", "",
             "| optimizer | lr | final train loss | test accuracy |",
             "|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {PRETTY[s['optimizer']]} | {s['lr']:g} | "
                     f"{s['train_loss_mean']:.4f} ± {s['train_loss_std']:.4f} | "
                     f"{s['test_acc_mean']:.3f} ± {s['test_acc_std']:.3f} |")
    lines += ["", "## Training loss (full train set) vs step, best lr per optimizer", "",
              "| optimizer | best lr | " + " | ".join(f"step {s}" for s in LOG_AT) + " |",
              "|---|---|" + "---|" * len(LOG_AT)]
    for opt in LR_GRID:
        s = next(x for x in summary if x["optimizer"] == opt and x["lr"] == best[opt])
        lines.append(f"| {PRETTY[opt]} | {best[opt]:g} | "
                     + " | ".join(f"{s['mean_loss_at_step'][str(k)]:.4f}" for k in LOG_AT) + " |")
    lines += ["", "## Momentum at lr vs SGD at 10*lr (same effective step)", "",
              "| momentum lr | momentum loss | SGD lr | SGD loss |", "|---|---|---|---|"]
    for m_lr, s_lr in zip(LR_GRID["momentum"], LR_GRID["sgd"]):
        m = next(x for x in summary if x["optimizer"] == "momentum" and x["lr"] == m_lr)
        s = next(x for x in summary if x["optimizer"] == "sgd" and x["lr"] == s_lr)
        lines.append(f"| {m_lr:g} | {m['train_loss_mean']:.4f} | {s_lr:g} | "
                     f"{s['train_loss_mean']:.4f} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "table.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results")
