"""Synthetic two-spirals data.

Each class is one arm of a spiral: t is drawn uniformly from [0.05, 1], the arm
winds through 3*pi*t radians (1.5 turns) and class 1 is the same arm rotated by
pi. Points get isotropic Gaussian jitter with std 0.02.
"""
import numpy as np

NOISE_STD = 0.02


def sample_arm(cls, n, rng):
    t = rng.uniform(0.05, 1.0, size=n)
    angle = 3.0 * np.pi * t + cls * np.pi
    pts = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    pts += rng.normal(0.0, NOISE_STD, size=pts.shape)
    return pts


def make_spirals(n_per_class, rng):
    """Return (X, y) with n_per_class points of each class, classes in order."""
    xs = [sample_arm(c, n_per_class, rng) for c in (0, 1)]
    y = np.repeat([0.0, 1.0], n_per_class)
    return np.concatenate(xs, axis=0), y
