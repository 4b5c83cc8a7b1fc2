#!/usr/bin/env python3
# Optimizer comparison on two spirals -- SGD / momentum / Adam, tiny tanh MLP in numpy.
#
# Status: final-loss / test-accuracy table works. Still TODO:
#   * log the full-train-set loss during training (for the loss-vs-step table)
#   * pick the best lr per optimizer and print the curves for it
#   * go back to 5 seeds (3 for now while iterating)

import os
import sys

import numpy as np

SEEDS = [0, 1, 2]          # TODO: paper uses 5
N_STEPS = 4000
BS = 32
H = 32

LRS = {
    "sgd":      [0.03, 0.1, 0.3, 1.0],
    "momentum": [0.003, 0.01, 0.03, 0.1],
    "adam":     [0.001, 0.003, 0.01, 0.03],
}


# ---------------------------------------------------------------- data
def two_spirals(n, rs):
    """n points per class. class 1 = class 0 rotated by pi."""
    X = np.zeros((2 * n, 2))
    Y = np.zeros(2 * n)
    for c in range(2):
        t = rs.uniform(0.05, 1.0, n)
        ang = 3 * np.pi * t + c * np.pi
        X[c * n:(c + 1) * n, 0] = t * np.cos(ang)
        X[c * n:(c + 1) * n, 1] = t * np.sin(ang)
        Y[c * n:(c + 1) * n] = c
    X += 0.02 * rs.randn(2 * n, 2)
    return X, Y


# ---------------------------------------------------------------- model
class Net:
    def __init__(self, rs):
        self.W = [rs.randn(2, H) / np.sqrt(2), rs.randn(H, H) / np.sqrt(H), rs.randn(H, 1) / np.sqrt(H)]
        self.b = [np.zeros(H), np.zeros(H), np.zeros(1)]

    def params(self):
        return self.W + self.b

    def logits(self, X):
        h = X
        for i in range(2):
            h = np.tanh(h @ self.W[i] + self.b[i])
        return (h @ self.W[2] + self.b[2])[:, 0]

    def loss(self, X, Y):
        z = self.logits(X)
        return np.mean(np.logaddexp(0, z) - Y * z)

    def grad(self, X, Y):
        # forward, keeping activations
        acts = [X]
        for i in range(2):
            acts.append(np.tanh(acts[-1] @ self.W[i] + self.b[i]))
        z = (acts[-1] @ self.W[2] + self.b[2])[:, 0]
        p = 1 / (1 + np.exp(-z))
        delta = ((p - Y) / len(Y))[:, None]
        gW = [None] * 3
        gb = [None] * 3
        for i in (2, 1, 0):
            gW[i] = acts[i].T @ delta
            gb[i] = delta.sum(0)
            if i > 0:
                delta = (delta @ self.W[i].T) * (1 - acts[i] ** 2)
        return gW + gb


# ---------------------------------------------------------------- optimizers
def make_update(kind, lr, shapes):
    state = {"t": 0,
             "m": [np.zeros(s) for s in shapes],
             "v": [np.zeros(s) for s in shapes]}

    def sgd(params, grads):
        for p, g in zip(params, grads):
            p -= lr * g

    def momentum(params, grads):
        for p, g, buf in zip(params, grads, state["m"]):
            buf *= 0.9
            buf += g
            p -= lr * buf

    def adam(params, grads):
        state["t"] += 1
        t = state["t"]
        for p, g, m, v in zip(params, grads, state["m"], state["v"]):
            m[:] = 0.9 * m + 0.1 * g
            v[:] = 0.999 * v + 0.001 * g * g
            mhat = m / (1 - 0.9 ** t)
            vhat = v / (1 - 0.999 ** t)
            p -= lr * mhat / (np.sqrt(vhat) + 1e-8)

    return {"sgd": sgd, "momentum": momentum, "adam": adam}[kind]


# ---------------------------------------------------------------- training
def train_one(kind, lr, seed):
    rs = np.random.RandomState(seed)
    Xtr, Ytr = two_spirals(200, rs)
    Xte, Yte = two_spirals(500, rs)
    net = Net(rs)
    params = net.params()
    update = make_update(kind, lr, [p.shape for p in params])

    step = 0
    while step < N_STEPS:
        perm = rs.permutation(len(Ytr))
        for i in range(len(Ytr) // BS):
            idx = perm[i * BS:(i + 1) * BS]
            update(params, net.grad(Xtr[idx], Ytr[idx]))
            step += 1
            if step == N_STEPS:
                break

    train_loss = net.loss(Xtr, Ytr)
    test_acc = np.mean((net.logits(Xte) > 0) == (Yte == 1))
    return train_loss, test_acc


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    rows = []
    for kind, grid in LRS.items():
        for lr in grid:
            res = np.array([train_one(kind, lr, s) for s in SEEDS])
            mean, std = res.mean(0), res.std(0)
            rows.append((kind, lr, mean[0], std[0], mean[1], std[1]))
            print("%-9s lr=%-6g loss %.4f +- %.4f  acc %.3f +- %.3f" % rows[-1], flush=True)

    with open(os.path.join(outdir, "final_metrics.csv"), "w") as f:
        f.write("optimizer,lr,train_loss_mean,train_loss_std,test_acc_mean,test_acc_std\n")
        for r in rows:
            f.write("%s,%g,%.6f,%.6f,%.4f,%.4f\n" % r)
    with open(os.path.join(outdir, "table1.md"), "w") as f:
        f.write("Final train loss / test accuracy after %d steps (mean +- std, seeds %s)\n\n"
                % (N_STEPS, SEEDS))
        f.write("| optimizer | lr | train loss | test acc |\n|---|---|---|---|\n")
        for r in rows:
            f.write("| %s | %g | %.4f +- %.4f | %.3f +- %.3f |\n" % r)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results")
