import numpy as np


class LogisticTeacher:
    """Ground-truth model P(y=1|x) = sigmoid(w_true . x), w_true random with fixed length."""

    def __init__(self, rng, dim=20, norm=3.0):
        direction = rng.normal(size=dim)
        self.w = norm * direction / np.linalg.norm(direction)
        self.dim = dim

    def prob(self, X):
        return 1.0 / (1.0 + np.exp(-X @ self.w))

    def sample(self, rng, n):
        X = rng.normal(size=(n, self.dim))
        y = (rng.uniform(size=n) < self.prob(X)).astype(float)
        return X, y
