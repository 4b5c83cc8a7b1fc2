import numpy as np


def accuracy(p, y):
    return np.mean((p > 0.5) == (y == 1))


def nll_score(p, y):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def ece_score(p, y, n_bins=15):
    conf = np.maximum(p, 1 - p)
    ok = (p > 0.5) == (y == 1)
    idx = np.minimum(((conf - 0.5) * 2 * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for k in range(n_bins):
        m = idx == k
        if m.any():
            total += m.mean() * abs(ok[m].mean() - conf[m].mean())
    return total


def gap_score(p, y):
    return np.maximum(p, 1 - p).mean() - accuracy(p, y)
