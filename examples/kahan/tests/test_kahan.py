import math
import os
import sys

import kahan


def test_compensated_sum_beats_naive_sum():
    values = [1e100, 1.0, -1e100]
    naive = 0.0
    for v in values:  # not sum(): Python 3.12's sum() compensates too
        naive += v
    assert naive == 0.0
    assert kahan.ksum(values) == 1.0


def test_many_small_values():
    values = [0.1] * 10_000
    assert kahan.ksum(values) == math.fsum(values)


def test_bad_input_raises():
    import pytest

    with pytest.raises(TypeError):
        kahan.ksum(["a"])


def test_library_is_the_grafted_copy():
    assert kahan.library_version() == "1.0.0"
    here = os.path.dirname(kahan.__file__)
    if sys.platform.startswith("linux"):
        # auditwheel puts the grafted library into kahan.libs/ beside the package.
        libs = os.path.join(os.path.dirname(here), "kahan.libs")
        assert any(name.startswith("libkahan") for name in os.listdir(libs)), os.listdir(libs)
