"""Synthetic binary data from a well-specified logistic model (no intercept)."""
import numpy as np

DIM = 20
TRUE_NORM = 3.0
TEST_SIZE = 20_000
TRAIN_SIZES = (200, 500, 2000)


def sigmoid(z):
    # split by sign so exp never overflows
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def draw_teacher(rng):
    w = rng.standard_normal(DIM)
    return w * (TRUE_NORM / np.linalg.norm(w))


def draw_examples(rng, w_true, count):
    X = rng.standard_normal((count, DIM))
    prob = sigmoid(X @ w_true)
    y = (rng.random(count) < prob).astype(np.float64)
    return X, y


def make_problem(seed):
    """Everything one seed needs: teacher weights, test set and one training set per size.

    Each piece gets its own child stream of SeedSequence(seed), so adding or resizing one
    split never changes the others.
    """
    w_ss, test_ss, *train_ss = np.random.SeedSequence(seed).spawn(2 + len(TRAIN_SIZES))
    w_true = draw_teacher(np.random.default_rng(w_ss))
    test = draw_examples(np.random.default_rng(test_ss), w_true, TEST_SIZE)
    train = {n: draw_examples(np.random.default_rng(ss), w_true, n)
             for n, ss in zip(TRAIN_SIZES, train_ss)}
    return w_true, test, train
