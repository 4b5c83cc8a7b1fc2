"""A 2-32-32-1 tanh network with a hand-written backward pass.

Parameters live in a dict so the optimizers can loop over them by name.
"""
import numpy as np

LAYER_SIZES = (2, 32, 32, 1)


def init_params(rng, sizes=LAYER_SIZES):
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        # variance 1/fan_in ("LeCun normal"), biases start at zero
        params[f"W{i}"] = rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        params[f"b{i}"] = np.zeros(fan_out)
    return params


def forward(params, X):
    """Returns the logits (shape [n]) and the cache needed by backward()."""
    a1 = np.tanh(X @ params["W1"] + params["b1"])
    a2 = np.tanh(a1 @ params["W2"] + params["b2"])
    logits = (a2 @ params["W3"] + params["b3"]).ravel()
    return logits, (X, a1, a2)


def bce_with_logits(logits, y):
    # log(1 + e^z) - y z, written with logaddexp so large |z| does not overflow
    return float(np.mean(np.logaddexp(0.0, logits) - y * logits))


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def backward(params, cache, logits, y):
    """Gradient of the mean BCE w.r.t. every parameter."""
    X, a1, a2 = cache
    n = X.shape[0]
    dz = (sigmoid(logits) - y).reshape(-1, 1) / n
    grads = {"W3": a2.T @ dz, "b3": dz.sum(axis=0)}
    da2 = dz @ params["W3"].T
    dh2 = da2 * (1.0 - a2 ** 2)
    grads["W2"] = a1.T @ dh2
    grads["b2"] = dh2.sum(axis=0)
    da1 = dh2 @ params["W2"].T
    dh1 = da1 * (1.0 - a1 ** 2)
    grads["W1"] = X.T @ dh1
    grads["b1"] = dh1.sum(axis=0)
    return grads


def loss_and_grads(params, X, y):
    logits, cache = forward(params, X)
    return bce_with_logits(logits, y), backward(params, cache, logits, y)


def evaluate(params, X, y):
    """(mean BCE, accuracy) on a whole dataset; a positive logit means class 1."""
    logits, _ = forward(params, X)
    acc = float(np.mean((logits > 0).astype(float) == y))
    return bce_with_logits(logits, y), acc
