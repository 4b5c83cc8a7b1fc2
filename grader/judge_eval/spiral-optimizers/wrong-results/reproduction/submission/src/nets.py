"""MLP whose parameters are views into one flat float64 vector.

Keeping everything in one vector makes the optimizers one-liners.
"""
import numpy as np

SHAPES = [("W1", (2, 32)), ("b1", (32,)), ("W2", (32, 32)), ("b2", (32,)),
          ("W3", (32, 1)), ("b3", (1,))]
N_PARAMS = sum(int(np.prod(s)) for _, s in SHAPES)


def unpack(flat):
    out, i = {}, 0
    for name, shape in SHAPES:
        n = int(np.prod(shape))
        out[name] = flat[i:i + n].reshape(shape)
        i += n
    return out


def initial_params(rng):
    flat = np.zeros(N_PARAMS)
    p = unpack(flat)
    for name, shape in SHAPES:
        if name.startswith("W"):
            p[name][...] = rng.normal(0.0, np.sqrt(1.0 / shape[0]), size=shape)
    return flat


def logits(flat, x):
    p = unpack(flat)
    h1 = np.tanh(x @ p["W1"] + p["b1"])
    h2 = np.tanh(h1 @ p["W2"] + p["b2"])
    return (h2 @ p["W3"] + p["b3"]).ravel()


def xent(z, y):
    return np.mean(np.logaddexp(0.0, z) - y * z)


def xent_grad(flat, x, y):
    """Mean binary cross-entropy and its gradient (flat, same layout as params)."""
    p = unpack(flat)
    h1 = np.tanh(x @ p["W1"] + p["b1"])
    h2 = np.tanh(h1 @ p["W2"] + p["b2"])
    z = (h2 @ p["W3"] + p["b3"]).ravel()
    g = np.zeros_like(flat)
    gp = unpack(g)
    dz = (0.5 * (1 + np.tanh(z / 2)) - y)[:, None] / len(y)
    gp["W3"][...] = h2.T @ dz
    gp["b3"][...] = dz.sum(0)
    d2 = dz @ p["W3"].T * (1 - h2 * h2)
    gp["W2"][...] = h1.T @ d2
    gp["b2"][...] = d2.sum(0)
    d1 = d2 @ p["W2"].T * (1 - h1 * h1)
    gp["W1"][...] = x.T @ d1
    gp["b1"][...] = d1.sum(0)
    return xent(z, y), g
