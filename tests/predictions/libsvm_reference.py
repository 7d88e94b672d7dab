"""libsvm's ``sigmoid_train`` (svm.cpp) ported line by line: an independent oracle for the
calibration tests and the baseline the calibration benchmark times ours against."""

import math


def libsvm_sigmoid_train(dec_values, labels):
    """A line-by-line port of libsvm's sigmoid_train (svm.cpp), as an independent oracle.

    Only change: a label's weight is fractional (y in [0, 1]), as in Clone.
    """
    prior1 = sum(labels)
    prior0 = len(labels) - prior1
    max_iter, min_step, sigma, eps = 100, 1e-10, 1e-12, 1e-5
    hi_target = (prior1 + 1.0) / (prior1 + 2.0)
    lo_target = 1 / (prior0 + 2.0)
    t = [y * hi_target + (1 - y) * lo_target for y in labels]
    a, b = 0.0, math.log((prior0 + 1.0) / (prior1 + 1.0))

    def objective(a, b):
        fval = 0.0
        for f, ti in zip(dec_values, t, strict=True):
            f_ap_b = f * a + b
            if f_ap_b >= 0:
                fval += ti * f_ap_b + math.log(1 + math.exp(-f_ap_b))
            else:
                fval += (ti - 1) * f_ap_b + math.log(1 + math.exp(f_ap_b))
        return fval

    fval = objective(a, b)
    for _ in range(max_iter):
        h11 = h22 = sigma
        h21 = g1 = g2 = 0.0
        for f, ti in zip(dec_values, t, strict=True):
            f_ap_b = f * a + b
            if f_ap_b >= 0:
                p = math.exp(-f_ap_b) / (1.0 + math.exp(-f_ap_b))
                q = 1.0 / (1.0 + math.exp(-f_ap_b))
            else:
                p = 1.0 / (1.0 + math.exp(f_ap_b))
                q = math.exp(f_ap_b) / (1.0 + math.exp(f_ap_b))
            d2 = p * q
            h11 += f * f * d2
            h22 += d2
            h21 += f * d2
            d1 = ti - p
            g1 += f * d1
            g2 += d1
        if abs(g1) < eps and abs(g2) < eps:
            break
        det = h11 * h22 - h21 * h21
        d_a = -(h22 * g1 - h21 * g2) / det
        d_b = -(-h21 * g1 + h11 * g2) / det
        gd = g1 * d_a + g2 * d_b
        step = 1.0
        while step >= min_step:
            new_a, new_b = a + step * d_a, b + step * d_b
            new_f = objective(new_a, new_b)
            if new_f < fval + 0.0001 * step * gd:
                a, b, fval = new_a, new_b, new_f
                break
            step /= 2.0
        if step < min_step:
            break
    return a, b
