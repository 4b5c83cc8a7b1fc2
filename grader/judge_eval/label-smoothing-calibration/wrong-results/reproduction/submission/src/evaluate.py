import numpy as np


def calibration_report(p, y, n_bins=15):
    """Metrics for P(y=1) predictions p against 0/1 labels y.

    ECE is computed on the confidence of the predicted class, max(p, 1-p), with n_bins
    equal-width bins covering [0.5, 1]; empty bins contribute nothing.
    """
    pred = (p > 0.5).astype(float)
    correct = (pred == y).astype(float)
    conf = np.maximum(p, 1.0 - p)

    edges = np.linspace(0.5, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=False), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = which == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())

    p_safe = np.clip(p, 1e-15, 1 - 1e-15)
    nll = -np.mean(y * np.log(p_safe) + (1 - y) * np.log(1 - p_safe))
    return {
        "acc": correct.mean(),
        "nll": nll,
        "ece": ece,
        "gap": conf.mean() - correct.mean(),
    }
