import numpy as np
import pytest

from course_lib import checks


class AlwaysEqual:
    """What a student might return to fool ``==``."""

    def __eq__(self, other):
        return True

    def __float__(self):
        return 1.0


def test_as_float_accepts_numbers_and_refuses_the_rest():
    assert checks.as_float(3) == 3.0
    assert type(checks.as_float(np.float32(0.5))) is float
    assert checks.as_float(np.array([2.0])) == 2.0
    for bad in (None, "1", True, [1.0], AlwaysEqual(), np.array([1.0, 2.0])):
        with pytest.raises(AssertionError, match="expected a number"):
            checks.as_float(bad)


def test_as_int():
    assert checks.as_int(np.int32(7)) == 7
    with pytest.raises(AssertionError):
        checks.as_int(True)
    with pytest.raises(AssertionError):
        checks.as_int("7")


def test_as_array_copies_and_checks_shape_and_objects():
    a = np.arange(3.0)
    b = checks.as_array(a)
    b[0] = 99
    assert a[0] == 0
    assert checks.as_array(np.int8([1, 2])).dtype == np.int8
    with pytest.raises(AssertionError, match="shape"):
        checks.as_array([1, 2], shape=(2, 1))
    with pytest.raises(AssertionError, match="None"):
        checks.as_array(None)
    with pytest.raises(AssertionError, match="objects"):
        checks.as_array([AlwaysEqual()])


def test_as_tuple_and_as_dict():
    assert checks.as_tuple([1, 2]) == (1.0, 2.0)
    with pytest.raises(AssertionError, match="2 items"):
        checks.as_tuple((1, 2, 3), length=2)
    assert checks.as_dict({np.int64(95): 1}) == {95: 1.0}
    with pytest.raises(AssertionError, match="dict"):
        checks.as_dict([(95, 1.0)])


def test_check_equal_is_not_fooled_by_eq():
    with pytest.raises(AssertionError):
        checks.check_equal(AlwaysEqual(), 3, what="x")
    checks.check_equal(3, 3.0)
    with pytest.raises(AssertionError, match="expected 4, got 3"):
        checks.check_equal(3, 4)


def test_check_close():
    checks.check_close(1.0, 1.0 + 1e-12)
    checks.check_close(float("nan"), float("nan"))
    with pytest.raises(AssertionError, match="T: expected 2, got 1"):
        checks.check_close(1.0, 2.0, what="T")


def test_check_array_close_reports_where():
    with pytest.raises(AssertionError, match=r"index \(1, 0\)"):
        checks.check_array_close(np.array([[1.0], [5.0]]), [[1.0], [2.0]])
    with pytest.raises(AssertionError, match="shape"):
        checks.check_array_close(np.zeros(2), np.zeros(3))
    with pytest.raises(AssertionError, match=r"got \[nan nan\]"):
        checks.check_array_close(np.full(2, np.nan), [1.0, 2.0])
    with pytest.raises(AssertionError, match=r"index \(0,\)"):
        checks.check_array_close(np.array([np.nan, 3.0]), [1.0, 2.0])


def test_check_raises():
    checks.check_raises(ZeroDivisionError, lambda: 1 / 0)
    with pytest.raises(AssertionError, match="returned 1"):
        checks.check_raises(ValueError, lambda: 1)
    with pytest.raises(AssertionError, match="got KeyError"):
        checks.check_raises(ValueError, lambda: {}["k"])
    with pytest.raises(NotImplementedError):  # an unsolved exercise says so, unchanged
        checks.check_raises(ValueError, lambda: (_ for _ in ()).throw(NotImplementedError()))


def test_check_true():
    checks.check_true(True, "fine")
    with pytest.raises(AssertionError, match="must hold"):
        checks.check_true(AlwaysEqual(), "must hold")
