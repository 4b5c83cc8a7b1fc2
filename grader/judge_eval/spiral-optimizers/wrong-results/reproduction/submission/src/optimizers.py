"""Optimizers on a flat parameter vector. Each returns a step(theta, grad) closure."""
import numpy as np


def sgd(lr):
    def step(theta, grad):
        theta -= lr * grad
    return step


def momentum(lr, beta=0.9):
    # standard momentum: keep a running average of past gradients and step along it
    vel = None

    def step(theta, grad):
        nonlocal vel
        if vel is None:
            vel = np.zeros_like(theta)
        vel = beta * vel + (1 - beta) * grad
        theta -= lr * vel
    return step


def adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    m = v = None
    t = 0

    def step(theta, grad):
        nonlocal m, v, t
        if m is None:
            m, v = np.zeros_like(theta), np.zeros_like(theta)
        t += 1
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad ** 2
        mhat = m / (1 - b1 ** t)
        vhat = v / (1 - b2 ** t)
        theta -= lr * mhat / (np.sqrt(vhat) + eps)
    return step


BUILDERS = {"sgd": sgd, "momentum": momentum, "adam": adam}
