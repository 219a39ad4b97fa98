"""course_lib.predictions: the line after each experiment, and the reference range."""

import math

import pytest

from course_lib import predictions as pr


def test_compare_prints_prediction_measurement_and_ratio(capsys):
    assert pr.compare(2.0, 5.0, unit="s", what="t") == 2.5
    line = capsys.readouterr().out
    assert "predicted 2 s" in line and "measured 5 s" in line and "= 2.5" in line
    assert "more than predicted" in line
    assert pr.compare(10, 4, what="x") == 0.4
    assert "less than predicted" in capsys.readouterr().out
    assert pr.compare(1.0, 1.5, tolerance=2) == 1.5
    assert "within 2x" in capsys.readouterr().out


def test_compare_without_a_prediction_or_with_zero(capsys):
    assert pr.compare(None, 1.0) is None
    assert "no prediction" in capsys.readouterr().out
    assert math.isinf(pr.compare(0, 1.0))
    assert pr.compare(0, 0) == 1.0


@pytest.mark.parametrize("bad", [float("nan"), "1", True, float("inf")])
def test_compare_refuses_what_is_not_a_finite_number(bad):
    with pytest.raises(ValueError, match="finite number"):
        pr.compare(bad, 1.0)
    with pytest.raises(ValueError, match="finite number"):
        pr.compare(1.0, bad)


def test_reference_says_where_the_run_falls(capsys):
    assert pr.reference(1, 2, 3, what="m") == "below"
    assert pr.reference(4, 2, 3) == "above"
    assert pr.reference(2, 2, 3, source="a paper") == "inside"
    assert "(a paper)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="must not exceed"):
        pr.reference(1, 3, 2)
