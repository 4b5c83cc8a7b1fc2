import argparse
import os

import numpy as np

from analysis import summarize
from model import Optimizer, TanhMLP, bce, make_two_spirals

GRID = {"sgd": [0.03, 0.1, 0.3, 1.0],
        "momentum": [0.003, 0.01, 0.03, 0.1],
        "adam": [0.001, 0.003, 0.01, 0.03]}
EVAL_STEPS = (500, 1000, 2000, 4000)


def train(kind, lr, seed, steps=4000, batch=32):
    rng = np.random.default_rng(seed)
    Xtr, ytr = make_two_spirals(200, rng)
    Xte, yte = make_two_spirals(500, rng)
    net = TanhMLP(rng)
    opt = Optimizer(kind, lr, net.params)
    rec = {"optimizer": kind, "lr": lr, "seed": seed}
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(ytr), batch)
        z = net.forward(Xtr[idx])
        opt.update(net.params, net.backward(z, ytr[idx]))
        if step in EVAL_STEPS:
            rec[f"loss_{step}"] = bce(net.forward(Xtr), ytr)
    rec["test_acc"] = float(np.mean((net.forward(Xte) > 0) == (yte == 1)))
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="results")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    records = []
    for kind, lrs in GRID.items():
        for lr in lrs:
            for seed in range(args.seeds):
                records.append(train(kind, lr, seed))
                print(kind, lr, seed, round(records[-1]["loss_4000"], 4), flush=True)
    summarize(records, args.out)


if __name__ == "__main__":
    main()
