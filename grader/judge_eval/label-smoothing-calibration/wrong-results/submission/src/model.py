import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class SmoothedLogReg:
    """Binary logistic regression trained on label-smoothed targets.

    Loss: mean cross-entropy between the soft targets and sigmoid(Xw + b), no weight decay.
    Optimised with Newton-Raphson (IRLS); the problem is convex so this is exact.
    """

    def __init__(self, eps=0.0, tol=1e-10, max_iter=100):
        self.eps = eps
        self.tol = tol
        self.max_iter = max_iter

    def soft_targets(self, y):
        # label smoothing: the true class keeps 1 - eps, the other class gets eps
        return np.where(y == 1, 1.0 - self.eps, self.eps)

    def fit(self, X, y):
        n, d = X.shape
        A = np.column_stack([X, np.ones(n)])
        t = self.soft_targets(y)
        params = np.zeros(d + 1)
        for k in range(self.max_iter):
            p = _sigmoid(A @ params)
            grad = A.T @ (p - t) / n
            H = A.T @ (A * (p * (1 - p))[:, None]) / n
            step = np.linalg.solve(H, grad)
            params -= step
            if np.max(np.abs(step)) < self.tol:
                break
        else:
            raise RuntimeError("IRLS did not converge")
        self.coef_ = params[:d]
        self.intercept_ = params[d]
        self.n_iter_ = k + 1
        return self

    def predict_proba(self, X):
        return _sigmoid(X @ self.coef_ + self.intercept_)
