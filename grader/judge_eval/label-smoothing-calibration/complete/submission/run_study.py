"""Run the label-smoothing calibration study and write results/.

usage: python3 run_study.py [outdir]
"""
import csv
import json
import os
import sys
import time

from lsc.experiment import EPSILONS, METRICS, SEEDS, best_eps_by_ece, run_seed, summarise
from lsc.data import TRAIN_SIZES


def fmt_table(summary, best):
    head = "| model | n | eps | accuracy | NLL | ECE | conf - acc | norm(w) |"
    lines = [
        f"Mean (and std for ECE) over {summary[0]['seeds']} seeds, 20k test points per seed.",
        "",
        head,
        "|" + "---|" * 8,
    ]
    for s in summary:
        name = "true w*" if s["model"] == "true" else "logreg"
        n = "-" if s["model"] == "true" else str(s["n"])
        eps = "-" if s["eps"] is None else f"{s['eps']:g}"
        lines.append(
            f"| {name} | {n} | {eps} | {s['accuracy_mean']:.3f} | {s['nll_mean']:.3f} | "
            f"{s['ece_mean']:.3f} ± {s['ece_std']:.3f} | {s['overconfidence_mean']:+.3f} | "
            f"{s['w_norm_mean']:.2f} |"
        )
    lines += ["", "ECE-minimising smoothing per training size:", ""]
    for n in TRAIN_SIZES:
        e, v = best[n]
        lines.append(f"- n = {n}: eps = {e:g} (mean ECE {v:.3f})")
    return "\n".join(lines) + "\n"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "results"
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    rows = []
    for seed in SEEDS:
        rows.extend(run_seed(seed))
    n_fits = sum(r["model"] == "fit" for r in rows)
    print(f"{n_fits} fits over {len(SEEDS)} seeds in {time.time() - t0:.1f}s; "
          f"max Newton iterations {max(r.get('newton_iters', 0) for r in rows)}")

    summary = summarise(rows)
    best = best_eps_by_ece(summary)

    fields = ["seed", "model", "n", "eps", "newton_iters", *METRICS]
    with open(os.path.join(out, "per_seed.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v)
                        for k, v in r.items() if k in fields})
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"epsilons": list(EPSILONS), "train_sizes": list(TRAIN_SIZES),
                   "summary": summary,
                   "best_eps_by_ece": {str(n): e for n, (e, _) in best.items()}},
                  f, indent=2)
    table = fmt_table(summary, best)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
