"""Finite-difference check of the hand-written backward pass (run before the sweep)."""
import sys

import numpy as np

from twospiral.data import make_spirals
from twospiral.mlp import bce_with_logits, forward, init_params, loss_and_grads


def main():
    rng = np.random.default_rng(123)
    X, y = make_spirals(8, rng)
    params = init_params(rng)
    _, grads = loss_and_grads(params, X, y)
    worst = 0.0
    h = 1e-5
    for name, p in params.items():
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = bce_with_logits(forward(params, X)[0], y)
            p[idx] = old - h
            down = bce_with_logits(forward(params, X)[0], y)
            p[idx] = old
            num = (up - down) / (2 * h)
            err = abs(num - grads[name][idx]) / max(1e-4, abs(num) + abs(grads[name][idx]))
            worst = max(worst, err)
    print(f"gradient check: max relative error {worst:.2e}")
    if worst > 1e-6:
        sys.exit("gradient check failed")


if __name__ == "__main__":
    main()
