"""Logistic regression with soft (label-smoothed) targets, solved with Newton / IRLS.

No penalty of any kind: at eps = 0 this is the plain MLE. The bias column is appended last
and is part of the optimisation but not of the reported weight norm.
"""
import numpy as np

from .data import sigmoid


def smooth_labels(y, eps):
    # binary smoothing: mass eps is spread evenly over the two classes,
    # so 1 -> 1 - eps/2 and 0 -> eps/2
    return y * (1.0 - eps) + 0.5 * eps


class NotConverged(RuntimeError):
    pass


def fit_logreg(X, targets, tol=1e-10, max_newton=100):
    """Minimise mean binary cross-entropy(targets, sigmoid(X w + b)). Returns (w, b, n_iter)."""
    n, d = X.shape
    Z = np.hstack([X, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    for it in range(1, max_newton + 1):
        p = sigmoid(Z @ theta)
        grad = Z.T @ (p - targets) / n
        curv = p * (1.0 - p)
        hess = (Z * curv[:, None]).T @ Z / n
        delta = np.linalg.solve(hess, grad)
        theta = theta - delta
        if np.abs(delta).max() < tol:
            return theta[:d], theta[d], it
    raise NotConverged(f"Newton did not reach tol={tol} in {max_newton} steps")
