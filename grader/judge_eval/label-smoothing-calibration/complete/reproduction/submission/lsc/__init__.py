"""Label smoothing vs. calibration for logistic regression on synthetic data."""
