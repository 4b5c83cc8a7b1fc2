import numpy as np


def make_two_spirals(n_each, rng, noise=0.02):
    pts, labels = [], []
    for cls in (0, 1):
        t = rng.uniform(0.05, 1.0, n_each)
        a = 3 * np.pi * t + cls * np.pi
        p = np.column_stack((t * np.cos(a), t * np.sin(a)))
        pts.append(p + rng.normal(0, noise, p.shape))
        labels.append(np.full(n_each, cls, dtype=float))
    return np.concatenate(pts), np.concatenate(labels)


class TanhMLP:
    """2 -> 32 -> 32 -> 1, tanh hidden units, linear logit output."""

    def __init__(self, rng, widths=(2, 32, 32, 1)):
        self.params = []
        for fi, fo in zip(widths[:-1], widths[1:]):
            self.params.append(rng.normal(0, 1 / np.sqrt(fi), (fi, fo)))
            self.params.append(np.zeros(fo))

    def forward(self, x):
        W1, b1, W2, b2, W3, b3 = self.params
        self._x = x
        self._h1 = np.tanh(x @ W1 + b1)
        self._h2 = np.tanh(self._h1 @ W2 + b2)
        return self._h2 @ W3[:, 0] + b3[0]

    def backward(self, z, y):
        """Gradients of mean BCE; call right after forward() on the same batch."""
        W1, b1, W2, b2, W3, b3 = self.params
        dz = (1 / (1 + np.exp(-z)) - y) / len(y)
        gW3 = self._h2.T @ dz[:, None]
        gb3 = np.array([dz.sum()])
        dh2 = np.outer(dz, W3[:, 0]) * (1 - self._h2 ** 2)
        gW2 = self._h1.T @ dh2
        gb2 = dh2.sum(0)
        dh1 = dh2 @ W2.T * (1 - self._h1 ** 2)
        gW1 = self._x.T @ dh1
        gb1 = dh1.sum(0)
        return [gW1, gb1, gW2, gb2, gW3, gb3]


def bce(z, y):
    return float(np.mean(np.logaddexp(0, z) - y * z))


class Optimizer:
    def __init__(self, kind, lr, params):
        self.kind, self.lr, self.t = kind, lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def update(self, params, grads):
        self.t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            if self.kind == "sgd":
                p -= self.lr * g
            elif self.kind == "momentum":
                self.m[i] = 0.9 * self.m[i] + g
                p -= self.lr * self.m[i]
            elif self.kind == "adam":
                self.m[i] = 0.9 * self.m[i] + 0.1 * g
                self.v[i] = 0.999 * self.v[i] + 0.001 * g * g
                p -= self.lr * self.m[i] / (np.sqrt(self.v[i]) + 1e-8)
            else:
                raise ValueError(self.kind)
