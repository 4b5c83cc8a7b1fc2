"""Grid over seeds x train size x eps; writes <out>/grid_means.csv."""
import argparse
import os

import numpy as np

from calib import accuracy, ece_score, gap_score, nll_score
from fitting import irls, make_task, smoothed

EPS = [0.0, 0.05, 0.1, 0.2, 0.3]
SIZES = (200, 500, 2000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--out", default="results")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    acc = {}
    for seed in range(args.seeds):
        w_true, (Xte, yte), train = make_task(seed, train_sizes=SIZES)
        for n in SIZES:
            X, y = train[n]
            for eps in EPS:
                theta = irls(X, smoothed(y, eps))
                p = 1 / (1 + np.exp(-(Xte @ theta[:-1] + theta[-1])))
                row = [accuracy(p, yte), nll_score(p, yte), ece_score(p, yte),
                       gap_score(p, yte), np.linalg.norm(theta)]
                acc.setdefault((n, eps), []).append(row)
        # TODO: oracle row (true w) for reference

    with open(os.path.join(args.out, "grid_means.csv"), "w") as f:
        f.write("n,eps,acc,nll,ece,gap,w_norm\n")
        for (n, eps), rows in sorted(acc.items()):
            m = np.mean(rows, axis=0)
            f.write(f"{n},{eps}," + ",".join(f"{v:.4f}" for v in m) + "\n")
    print("wrote", os.path.join(args.out, "grid_means.csv"))


if __name__ == "__main__":
    main()
