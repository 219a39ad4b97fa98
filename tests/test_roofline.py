"""Tests of course_lib.roofline: the roofline plot and the published figures."""


import numpy as np
import pytest

from course_lib import roofline


# Test doubles: the library holds none of notebook 08's answers, so the tests bring their own.
def _roofline(ai, peak, bw):
    return np.minimum(peak, np.asarray(ai, dtype=float) * bw)


def test_published_figures_are_the_datasheets():
    h100, a100 = roofline.HARDWARE["NVIDIA H100 SXM"], roofline.HARDWARE["NVIDIA A100 SXM 80GB"]
    assert h100["bandwidth_Bps"] == 3.35e12 and h100["power_w"] == 700
    assert h100["peak_flops"]["BF16/FP16 tensor, dense"] == 989e12
    assert a100["peak_flops"]["BF16/FP16 tensor, dense"] == 312e12 and a100["power_w"] == 400
    assert all("http" in hw["source"] for hw in roofline.HARDWARE.values())


def test_roofline_plot_draws_the_roof_it_is_given():
    ax = roofline.roofline_plot(_roofline, {"here": (1e11, 1e10), "H100": (989e12, 3.35e12)},
                              {"axpy": (1 / 12, 1e9),
                               "matmul": (np.array([1.0, 10.0]), np.array([5e9, 8e10]))})
    lines = {line.get_label(): line for line in ax.get_lines()}
    roof = lines["here: 100 GFLOP/s, 10 GB/s"]
    x, y = roof.get_xdata(), roof.get_ydata()
    assert np.allclose(y, _roofline(x, 1e11, 1e10))
    assert lines["matmul"].get_xdata().tolist() == [1.0, 10.0]
    assert ax.get_yscale() == "log"


def test_roofline_plot_says_when_the_roof_is_not_written_yet():
    def stub(ai, peak, bw):
        raise NotImplementedError()

    ax = roofline.roofline_plot(stub, {"here": (1e11, 1e10)}, {"sum": (0.125, 2e9)})
    assert "roof is not written yet" in ax.texts[0].get_text()


def test_roofline_plot_checks_its_arguments():
    with pytest.raises(ValueError, match="elementwise"):
        roofline.roofline_plot(lambda ai, p, b: min(p, 1.0), {"here": (1e11, 1e10)})
    with pytest.raises(ValueError, match="peak_flops"):
        roofline.roofline_plot(_roofline, {"here": (0, 1e10)})
    with pytest.raises(ValueError, match="same shape"):
        roofline.roofline_plot(_roofline, {"here": (1e11, 1e10)}, {"k": ([1, 2], [3])})
    with pytest.raises(ValueError, match="ai_range"):
        roofline.roofline_plot(_roofline, {"here": (1e11, 1e10)}, ai_range=(10, 1))
