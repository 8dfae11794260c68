"""How sure a measured precision is: the exact (Clopper–Pearson) binomial bounds of `right` out
of `total`. Calibration sets thresholds on the one-sided lower bound; the panel's overview shows
the audited precision with its two-sided interval. Both never claim more than the counts allow,
which matters for the few hundred photos or the few dozen audits a week there are."""

import numpy as np
from scipy.special import betaincinv


def lower_bound(right, total, confidence: float):
    """The one-sided lower bound of `right` of `total` (arrays broadcast) at `confidence`; 0 where
    nothing was right or nothing counted."""
    right = np.asarray(right, dtype=float)
    total = np.asarray(total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        bound = betaincinv(right, total - right + 1, 1 - confidence)
    return np.where((right > 0) & (total > 0), np.nan_to_num(bound), 0.0)


def clopper_pearson(right: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The two-sided interval at `confidence`: (0, 1) when nothing was counted."""
    if total == 0:
        return 0.0, 1.0
    alpha = 1 - confidence
    low = 0.0 if right == 0 else float(betaincinv(right, total - right + 1, alpha / 2))
    high = 1.0 if right == total else float(betaincinv(right + 1, total - right, 1 - alpha / 2))
    return low, high
