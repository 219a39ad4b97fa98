"""course_lib.cases: random test cases seeded per submission, checked against a reference."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import cases
from course_lib.cases import Case, Draw, check_cases, check_like, seed_for


def reference_median(xs):
    """The lower median (a sample), as an exercise might specify it."""
    if not len(xs):
        raise ValueError("no samples")
    return float(sorted(xs)[(len(xs) - 1) // 2])


def draw_cases(seed: str, n: int = 30) -> list[tuple]:
    draw = Draw("median", seed=seed)
    return [([float(v) for v in draw.reals(draw.size(1, 12), -5.0, 5.0)],) for _ in range(n)]


def test_the_same_seed_draws_the_same_cases_and_another_seed_others():
    a, b = draw_cases("a"), draw_cases("b")
    assert repr(draw_cases("a")) == repr(a)
    assert repr(a) != repr(b)
    assert repr(Draw("other", seed="a").reals(5, 0, 1)) != repr(Draw("median", seed="a")
                                                                 .reals(5, 0, 1))


def test_the_seed_comes_from_the_grader_else_from_this_process(monkeypatch):
    monkeypatch.setenv(cases.SEED_ENV, "from-the-grader")
    assert cases.case_seed() == "from-the-grader" and Draw("x").seed == "from-the-grader"
    monkeypatch.delenv(cases.SEED_ENV)
    assert cases.case_seed() == cases._SALT == Draw("x").seed  # one per process
    assert seed_for("alice", "01") != seed_for("bob", "01") != seed_for("alice", "02")
    assert seed_for("alice", "01") == seed_for("alice", "01")


def test_draws_reach_the_edges_where_wrong_answers_hide():
    draw = Draw("edges", seed="s")
    sizes = [draw.size(0, 64) for _ in range(400)]
    assert {0, 1, 64} <= set(sizes)
    assert sum(s & (s - 1) != 0 for s in sizes) > 200  # mostly not powers of two
    values = [draw.integer(-3, 3) for _ in range(200)]
    assert set(values) == set(range(-3, 4))
    reals = [draw.real(0.0, 1.0) for _ in range(200)]
    assert 0.0 in reals and 1.0 in reals
    assert all(round(r, 2) != r for r in reals if r not in (0.0, 1.0))
    dup = [draw.reals(20, 0, 1, duplicates=1.0) for _ in range(20)]
    assert all(len(np.unique(d)) < 20 for d in dup)
    mags = [draw.magnitude(1e-9, 1e9) for _ in range(200)]
    assert min(mags) < 1e-6 and max(mags) > 1e6


def test_a_correct_solution_passes_every_case_and_a_subtle_one_fails_saying_which():
    def upper_median(xs):  # the subtle wrong answer: the upper median on even sizes
        if not xs:
            raise ValueError("no samples")
        return float(sorted(xs)[len(xs) // 2])

    own = draw_cases("a")
    assert check_cases(reference_median, reference_median, own, what="median") is None
    with pytest.raises(AssertionError) as caught:
        check_cases(upper_median, reference_median, own, what="median", seed="a")
    text = str(caught.value)
    assert "median, random case" in text and "COURSE_CASE_SEED=a" in text
    assert "upper_median([" in text and "expected" in text and "got" in text


def test_an_answer_that_memorised_a_classmates_cases_fails_on_its_own():
    """The point of per-student cases: a lookup table of bob's cases (what his feedback
    shows) passes bob's and fails alice's."""
    bob, alice = draw_cases(seed_for("bob", "01")), draw_cases(seed_for("alice", "01"))
    table = {repr(args): reference_median(*args) for args in bob}

    def memorised(xs):
        return table[repr((xs,))]

    check_cases(memorised, reference_median, bob)
    with pytest.raises(AssertionError, match="expected"):
        check_cases(memorised, reference_median, alice)


def test_exceptions_are_expected_where_the_reference_raises():
    check_cases(reference_median, reference_median, [([],), ([1.0],)])
    with pytest.raises(AssertionError, match=r"expected ValueError .*but it returned 0.0"):
        check_cases(lambda xs: float(sorted(xs)[0]) if xs else 0.0, reference_median, [([],)])
    with pytest.raises(AssertionError, match="got IndexError"):
        check_cases(lambda xs: float(sorted(xs)[(len(xs) - 1) // 2]), reference_median,
                    [([],)])
    with pytest.raises(NotImplementedError):  # a stub is an error, not a failed case
        check_cases(lambda xs: (_ for _ in ()).throw(NotImplementedError()), reference_median,
                    [([1.0],)])


def test_a_solution_that_changes_its_input_fails():
    def sorts_in_place(xs):
        xs.sort()
        return float(xs[(len(xs) - 1) // 2])

    with pytest.raises(AssertionError, match="argument 1 was changed"):
        check_cases(sorts_in_place, reference_median, [([3.0, 1.0, 2.0],)])
    check_cases(sorts_in_place, reference_median, [([3.0, 1.0, 2.0],)], inputs_unchanged=False)


def test_inputs_unchanged_sees_into_lists_of_arrays_and_allows_nan():
    def keeps(parts):
        return float(sum(float(np.nansum(p)) for p in parts))

    def scales_in_place(parts):
        parts[-1] *= 2
        return keeps(parts)

    case = ([np.array([np.nan]), np.arange(3.0), np.arange(4.0)],)
    check_cases(keeps, keeps, [case])
    with pytest.raises(AssertionError, match="argument 1 was changed"):
        check_cases(scales_in_place, keeps, [case], check=lambda *a, **k: None)


def test_keyword_cases_and_a_custom_check():
    def power(x, p=2):
        return x ** p

    check_cases(power, power, [Case(3, p=3), (2,)], what="power")
    seen = []
    check_cases(power, power, [Case(2.0, p=0.5)],
                check=lambda got, expected, what: seen.append((got, expected, what)))
    assert seen and "power(2.0, p=0.5)" in seen[0][2]


@pytest.mark.parametrize("got, expected, message", [
    (1.0, 1, "expected an int"),
    (1, 1.0, "expected a float"),
    (np.int64(2), 2.0, "expected a float"),
    (True, 1, "expected an int"),
    (1, True, "expected a bool"),
    ([1, 2], (1, 2), "expected a tuple"),
    ((1, 2), [1, 2], "expected a list"),
    ((1,), (1, 2), "expected 2 items"),
    (np.zeros(2, np.float32), np.zeros(2), "expected dtype float64"),
    (np.zeros(3), np.zeros(2), "expected shape"),
    ([0.0, 0.0], np.zeros(2), "expected a numpy array"),
    (np.array([1.0, 2.5]), np.array([1.0, 2.0]), "first difference at index (1,)"),
    ({1: 2.0}, {1: 2.0, 3: 4.0}, "expected keys"),
    ({1, 2}, {1, 3}, "expected"),
    (0.30000001, 0.3, "expected 0.3"),
    ("a", "b", "expected 'b'"),
    (None, 0.0, "expected a number"),
    (0.0, None, "expected None"),
])
def test_check_like_compares_types_exactly(got, expected, message):
    with pytest.raises(AssertionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_like(got, expected, what="x")


class _Liar(float):
    def __eq__(self, other):
        return True

    def __float__(self):
        return 0.3

    __hash__ = float.__hash__


def test_check_like_refuses_objects_that_could_lie():
    with pytest.raises(AssertionError, match="plain value"):
        check_like(_Liar(7.0), 0.3, what="x")
    with pytest.raises(AssertionError, match="plain value"):
        check_like((1.0, _Liar(7.0)), (1.0, 0.3), what="x")
    with pytest.raises(AssertionError, match="plain keys"):
        check_like({_Liar(1.0): 2.0}, {1.0: 2.0}, what="x")
    with pytest.raises(AssertionError, match="plain items"):
        check_like({_Liar(1.0)}, {1.0}, what="x")
    with pytest.raises(AssertionError, match="plain value"):
        check_like(np.zeros(2).view(type("Sub", (np.ndarray,), {})), np.zeros(2), what="x")


def test_check_like_accepts_what_the_text_allows():
    check_like(np.int64(3), 3)
    check_like(np.float32(0.5), 0.5)
    check_like(float("nan"), float("nan"))
    check_like({"a": (1, [2.0, np.arange(3)])}, {"a": (1, [2.0 + 1e-15, np.arange(3)])})
    check_like(frozenset({1}), {1})
    with pytest.raises(TypeError, match="cannot compare"):
        check_like(object(), object())
