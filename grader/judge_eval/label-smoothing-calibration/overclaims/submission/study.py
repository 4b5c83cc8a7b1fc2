"""Label smoothing vs calibration in logistic regression (synthetic, d = 20).

Per seed: a teacher w* (Gaussian direction, norm 3, no bias), a 20k test set, and training
sets of 200 / 500 / 2000 points. Every smoothing level is trained on the same training set.
Training is full-batch gradient descent on the mean cross-entropy to the smoothed labels.
"""
import numpy as np

DIM, TEACHER_NORM, N_TEST = 20, 3.0, 20_000
SIZES = (200, 500, 2000)
EPS_GRID = (0.0, 0.05, 0.1, 0.2, 0.3)
NUM_SEEDS = 50

# gradient descent settings; the loss curve is flat well before 100 epochs at this lr
LR = 0.5
EPOCHS = 100


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def teacher(rng):
    w = rng.standard_normal(DIM)
    return TEACHER_NORM * w / np.linalg.norm(w)


def draw(rng, w, n):
    X = rng.standard_normal((n, DIM))
    y = rng.binomial(1, sigmoid(X @ w)).astype(np.float64)
    return X, y


def train(X, y, eps):
    """Logistic regression with a bias on targets (1 - eps) * y + eps / 2; no weight decay."""
    target = (1.0 - eps) * y + eps / 2.0
    w = np.zeros(X.shape[1])
    b = 0.0
    for _ in range(EPOCHS):
        resid = sigmoid(X @ w + b) - target
        w -= LR * X.T @ resid / len(y)
        b -= LR * resid.mean()
    return w, b


def scores(p, y, bins=15):
    """accuracy, NLL, 15-bin ECE on confidence max(p, 1-p), and mean confidence - accuracy."""
    correct = ((p > 0.5) == (y == 1)).astype(np.float64)
    conf = np.maximum(p, 1.0 - p)
    bin_id = np.minimum((2 * bins * (conf - 0.5)).astype(int), bins - 1)
    ece = 0.0
    for k in np.unique(bin_id):
        sel = bin_id == k
        ece += sel.sum() * abs(correct[sel].mean() - conf[sel].mean())
    ece /= len(p)
    q = np.clip(p, 1e-12, 1 - 1e-12)
    nll = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    return dict(acc=correct.mean(), nll=nll, ece=ece, gap=conf.mean() - correct.mean())


def run():
    out = []
    for seed in range(NUM_SEEDS):
        rng = np.random.default_rng(seed)
        w_star = teacher(rng)
        X_te, y_te = draw(rng, w_star, N_TEST)
        out.append(dict(seed=seed, n="oracle", eps=None, wnorm=TEACHER_NORM,
                        **scores(sigmoid(X_te @ w_star), y_te)))
        for n in SIZES:
            X, y = draw(rng, w_star, n)
            for eps in EPS_GRID:
                w, b = train(X, y, eps)
                out.append(dict(seed=seed, n=n, eps=eps, wnorm=np.linalg.norm(w),
                                **scores(sigmoid(X_te @ w + b), y_te)))
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in out]
