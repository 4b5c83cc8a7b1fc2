import numpy as np


def spiral_dataset(rng, per_class):
    """Interleaved two-spirals. Returns X (2*per_class, 2) and labels in {0, 1}."""
    t = rng.uniform(0.05, 1.0, size=(2, per_class))
    k = np.array([[0.0], [1.0]])
    theta = 3 * np.pi * t + np.pi * k
    x = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=-1).reshape(-1, 2)
    x = x + rng.normal(scale=0.02, size=x.shape)
    y = np.repeat([0.0, 1.0], per_class)
    return x, y
