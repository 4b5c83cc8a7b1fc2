"""Update rules. Parameters and gradients are lists of numpy arrays (W1, b1, W2, b2, W3, b3)."""
import numpy as np


class Plain:
    def __init__(self, params, lr):
        self.lr = lr

    def __call__(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g


class Momentum:
    def __init__(self, params, lr, mu=0.9):
        self.lr, self.mu = lr, mu
        self.vel = [np.zeros_like(p) for p in params]

    def __call__(self, params, grads):
        for p, g, v in zip(params, grads, self.vel):
            v *= self.mu
            v += g                      # heavy ball: no (1 - mu) factor
            p -= self.lr * v


class Adam:
    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.step = 0
        self.m = [np.zeros(len(p)) for p in params]
        self.s = [np.zeros(len(p)) for p in params]

    def __call__(self, params, grads):
        self.step += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.s[i] = self.b2 * self.s[i] + (1 - self.b2) * g ** 2
            m_hat = self.m[i] / (1 - self.b1 ** self.step)
            s_hat = self.s[i] / (1 - self.b2 ** self.step)
            p -= self.lr * m_hat / (np.sqrt(s_hat) + self.eps)


RULES = {"sgd": Plain, "momentum": Momentum, "adam": Adam}
