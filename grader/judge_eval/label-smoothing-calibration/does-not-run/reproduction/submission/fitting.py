import numpy as np


def make_task(seed, dim=20, norm=3.0, n_test=20000, train_sizes=(200, 500, 2000)):
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=dim)
    w_true *= norm / np.linalg.norm(w_true)

    def draw(n):
        X = rng.normal(size=(n, dim))
        p = 1 / (1 + np.exp(-(X @ w_true)))
        return X, (rng.random(n) < p).astype(float)

    test = draw(n_test)
    train = {n: draw(n) for n in train_sizes}
    return w_true, test, train


def smoothed(y, eps):
    return (1 - eps) * y + eps / 2


def irls(X, t, tol=1e-10, max_iter=100):
    """Unpenalised logistic regression with intercept on soft targets t.

    Returns theta = [w_1..w_d, b].
    """
    A = np.hstack([X, np.ones((len(t), 1))])
    theta = np.zeros(A.shape[1])
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-(A @ theta)))
        W = p * (1 - p)
        step = np.linalg.solve((A.T * W) @ A, A.T @ (p - t))
        theta -= step
        if np.abs(step).max() < tol:
            return theta
    raise RuntimeError("IRLS: no convergence")
