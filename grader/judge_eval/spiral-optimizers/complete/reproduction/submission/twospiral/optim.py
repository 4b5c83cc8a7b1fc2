"""The three update rules, applied in place to a dict of numpy arrays."""
import numpy as np


class SGD:
    def __init__(self, lr):
        self.lr = lr

    def step(self, params, grads):
        for k in params:
            params[k] -= self.lr * grads[k]


class HeavyBall:
    """Polyak momentum: buf <- mu*buf + g, p <- p - lr*buf (no dampening)."""

    def __init__(self, lr, mu=0.9):
        self.lr, self.mu = lr, mu
        self.buf = None

    def step(self, params, grads):
        if self.buf is None:
            self.buf = {k: np.zeros_like(v) for k, v in params.items()}
        for k in params:
            self.buf[k] = self.mu * self.buf[k] + grads[k]
            params[k] -= self.lr * self.buf[k]


class Adam:
    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m = self.v = None

    def step(self, params, grads):
        if self.m is None:
            self.m = {k: np.zeros_like(p) for k, p in params.items()}
            self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for k in params:
            g = grads[k]
            self.m[k] = self.b1 * self.m[k] + (1.0 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1.0 - self.b2) * g * g
            m_hat = self.m[k] / c1
            v_hat = self.v[k] / c2
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS = {"sgd": SGD, "momentum": HeavyBall, "adam": Adam}
