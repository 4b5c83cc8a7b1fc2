"""Does label smoothing help calibration? Synthetic logistic-regression study.

Writes results/raw.json (every run), results/summary.csv and results/summary.md.
"""
import json
import os

import numpy as np

from src.evaluate import calibration_report
from src.model import SmoothedLogReg
from src.synth import LogisticTeacher

SEEDS = 50
SIZES = [200, 500, 2000]
EPSILONS = [0.0, 0.05, 0.1, 0.2, 0.3]
TEST_N = 20000
OUT = "results"
COLS = ["acc", "nll", "ece", "gap", "w_norm"]


def one_seed(seed):
    rng = np.random.default_rng(seed)
    teacher = LogisticTeacher(rng)
    X_test, y_test = teacher.sample(rng, TEST_N)
    records = []
    r = calibration_report(teacher.prob(X_test), y_test)
    r.update(seed=seed, n="oracle", eps=None, w_norm=np.linalg.norm(teacher.w))
    records.append(r)
    for n in SIZES:
        X, y = teacher.sample(rng, n)
        for eps in EPSILONS:
            clf = SmoothedLogReg(eps=eps).fit(X, y)
            r = calibration_report(clf.predict_proba(X_test), y_test)
            r.update(seed=seed, n=n, eps=eps, w_norm=np.linalg.norm(clf.coef_))
            records.append(r)
    return [{k: (float(v) if isinstance(v, np.generic) else v) for k, v in rec.items()}
            for rec in records]


def aggregate(records):
    keys = [("oracle", None)] + [(n, e) for n in SIZES for e in EPSILONS]
    rows = []
    for n, e in keys:
        sub = [r for r in records if r["n"] == n and r["eps"] == e]
        row = {"n": n, "eps": e, "runs": len(sub)}
        for c in COLS:
            v = np.array([r[c] for r in sub])
            row[c] = float(v.mean())
            row[c + "_sd"] = float(v.std())
        rows.append(row)
    return rows


def write_outputs(records, rows):
    os.makedirs(OUT, exist_ok=True)
    with open(f"{OUT}/raw.json", "w") as f:
        json.dump(records, f)
    with open(f"{OUT}/summary.csv", "w") as f:
        f.write("n,eps,runs," + ",".join(f"{c},{c}_sd" for c in COLS) + "\n")
        for row in rows:
            f.write(f"{row['n']},{'' if row['eps'] is None else row['eps']},{row['runs']},"
                    + ",".join(f"{row[c]:.5f},{row[c + '_sd']:.5f}" for c in COLS) + "\n")
    md = ["| n | eps | acc | NLL | ECE (mean ± sd) | gap | ‖w‖ |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        eps = "—" if row["eps"] is None else row["eps"]
        md.append(f"| {row['n']} | {eps} | {row['acc']:.3f} | {row['nll']:.3f} | "
                  f"{row['ece']:.3f} ± {row['ece_sd']:.3f} | {row['gap']:+.3f} | "
                  f"{row['w_norm']:.2f} |")
    md.append("")
    for n in SIZES:
        best = min((r for r in rows if r["n"] == n), key=lambda r: r["ece"])
        md.append(f"Best eps by mean ECE at n={n}: {best['eps']} (ECE {best['ece']:.3f})")
    text = "\n".join(md) + "\n"
    with open(f"{OUT}/summary.md", "w") as f:
        f.write(text)
    return text


if __name__ == "__main__":
    records = []
    for s in range(SEEDS):
        records += one_seed(s)
    rows = aggregate(records)
    print(write_outputs(records, rows))
    print(f"done: {sum(r['n'] != 'oracle' for r in records)} fits")
