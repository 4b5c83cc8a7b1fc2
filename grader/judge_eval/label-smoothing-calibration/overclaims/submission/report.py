import json
import os
import sys

import numpy as np

import study

METRICS = ("acc", "nll", "ece", "gap", "wnorm")


def summarise(runs):
    cells = [("oracle", None)] + [(n, e) for n in study.SIZES for e in study.EPS_GRID]
    table = []
    for n, eps in cells:
        group = [r for r in runs if r["n"] == n and r["eps"] == eps]
        cell = dict(n=n, eps=eps, seeds=len(group))
        for m in METRICS:
            vals = np.array([r[m] for r in group])
            cell[m] = [float(vals.mean()), float(vals.std())]
        table.append(cell)
    return table


def markdown(table):
    lines = ["| n | eps | accuracy | NLL | ECE | conf - acc | norm(w) |",
             "|:-:|:-:|:-:|:-:|:-:|:-:|:-:|"]
    for c in table:
        eps = "" if c["eps"] is None else f"{c['eps']:.2f}"
        lines.append(f"| {c['n']} | {eps} | {c['acc'][0]:.3f} | {c['nll'][0]:.3f} | "
                     f"{c['ece'][0]:.3f} ± {c['ece'][1]:.3f} | {c['gap'][0]:+.3f} | "
                     f"{c['wnorm'][0]:.2f} |")
    lines.append("")
    for n in study.SIZES:
        best = min((c for c in table if c["n"] == n), key=lambda c: c["ece"][0])
        lines.append(f"* n={n}: lowest ECE at eps={best['eps']:.2f}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "results"
    os.makedirs(out_dir, exist_ok=True)
    runs = study.run()
    table = summarise(runs)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"config": {"lr": study.LR, "epochs": study.EPOCHS,
                              "seeds": study.NUM_SEEDS},
                   "summary": table}, f, indent=1)
    md = markdown(table)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(md)
    print(md)
