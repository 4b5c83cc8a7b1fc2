"""Test-set metrics. Always evaluated against the original 0/1 labels."""
import numpy as np

N_BINS = 15


def ece_binary(p, y, n_bins=N_BINS):
    """Top-label ECE: confidence max(p, 1-p) lives in [0.5, 1]; equal-width bins there."""
    conf = np.maximum(p, 1.0 - p)
    hit = ((p > 0.5) == (y > 0.5)).astype(float)
    idx = np.floor((conf - 0.5) * 2 * n_bins).astype(int)
    idx = np.clip(idx, 0, n_bins - 1)          # conf == 1.0 goes to the top bin
    count = np.bincount(idx, minlength=n_bins)
    hit_sum = np.bincount(idx, weights=hit, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    used = count > 0
    per_bin = np.abs(hit_sum[used] / count[used] - conf_sum[used] / count[used])
    return float(np.sum(per_bin * count[used]) / len(p))


def evaluate(logits, y):
    """accuracy, NLL, ECE and (mean confidence - accuracy) from test logits."""
    p = 1.0 / (1.0 + np.exp(-logits))
    pred = logits > 0          # same as p > 0.5
    acc = float(np.mean(pred == (y > 0.5)))
    # -log sigmoid(z) = logaddexp(0, -z), -log(1 - sigmoid(z)) = logaddexp(0, z)
    nll = float(np.mean(y * np.logaddexp(0, -logits) + (1 - y) * np.logaddexp(0, logits)))
    conf = np.maximum(p, 1 - p)
    return {
        "accuracy": acc,
        "nll": nll,
        "ece": ece_binary(p, y),
        "overconfidence": float(conf.mean() - acc),
    }
