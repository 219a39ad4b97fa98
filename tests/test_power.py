"""Tests of course_lib.power: RAPL counters and busy-core traces."""

import math
import os
from pathlib import Path

import numpy as np
import pytest

from course_lib import power


def _fake_rapl(root: Path, zones: dict) -> Path:
    for zone, (name, uj, max_uj) in zones.items():
        d = root / zone
        d.mkdir(parents=True)
        (d / "name").write_text(name + "\n")
        if uj is not None:
            (d / "energy_uj").write_text(f"{uj}\n")
        (d / "max_energy_range_uj").write_text(f"{max_uj}\n")
    (root / "dtpm").mkdir()  # a powercap zone that is not RAPL: ignored
    return root


def test_read_rapl_reads_every_readable_zone(tmp_path):
    root = _fake_rapl(tmp_path, {"intel-rapl:0": ("package-0", 5_000_000, 262_143_328_850),
                                 "intel-rapl:0:0": ("core", 1_500_000, 262_143_328_850),
                                 "intel-rapl:1": ("package-1", None, 1)})  # no counter
    got = power.read_rapl(root)
    assert set(got) == {"intel-rapl:0", "intel-rapl:0:0"}
    assert got["intel-rapl:0"]["name"] == "package-0"
    assert got["intel-rapl:0"]["joules"] == 5.0
    assert math.isclose(got["intel-rapl:0:0"]["max_joules"], 262_143.32885)


def test_read_rapl_is_none_without_counters_and_never_raises(tmp_path, monkeypatch):
    assert power.read_rapl(tmp_path / "missing") is None
    assert power.read_rapl(tmp_path) is None  # an empty powercap folder
    root = _fake_rapl(tmp_path / "pc", {"intel-rapl:0": ("package-0", 42, 100)})
    real_read_text = Path.read_text

    def denied(self, *args, **kwargs):  # what an unprivileged user sees since CVE-2020-8694
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", denied)
    assert power.read_rapl(root) is None


def test_read_rapl_on_this_machine_returns_none_or_joules():
    got = power.read_rapl()
    assert got is None or all(z["joules"] >= 0 for z in got.values())


def test_rapl_joules_handles_a_wrap_around():
    before = {"z": {"name": "package-0", "joules": 10.0, "max_joules": 50.0},
              "gone": {"name": "dram", "joules": 1.0, "max_joules": 2.0}}
    after = {"z": {"name": "package-0", "joules": 4.0, "max_joules": 50.0}}
    assert power.rapl_joules(before, after) == {"package-0": 44.0}
    assert power.rapl_joules(after, {"z": {"name": "package-0", "joules": 6.5,
                                            "max_joules": 50.0}}) == {"package-0": 2.5}


def test_sample_busy_cores_sees_a_busy_and_an_idle_call():
    def spin(seconds):
        end = __import__("time").perf_counter() + seconds
        while __import__("time").perf_counter() < end:
            pass
        return "done"

    busy = power.sample_busy_cores(spin, 0.3, dt_s=0.02)
    assert busy.value == "done" and busy.t[0] == 0.0
    assert np.allclose(np.diff(busy.t), 0.02)
    assert busy.wall_s >= 0.3 and 0 < busy.cpu_s <= busy.wall_s * os.cpu_count() + 0.05
    assert busy.t.shape == busy.busy.shape and np.all(busy.busy >= 0)
    idle = power.sample_busy_cores(__import__("time").sleep, 0.2, dt_s=0.02)
    assert idle.cpu_s < 0.5 * busy.cpu_s
    assert "samples every 20 ms" in repr(idle)
    with pytest.raises(ValueError, match="dt_s"):
        power.sample_busy_cores(spin, 0.0, dt_s=0)


def test_sample_busy_cores_of_a_call_shorter_than_a_sample():
    tr = power.sample_busy_cores(len, [1, 2], dt_s=1.0)
    assert tr.value == 2 and tr.t.size == 2 and tr.t[0] == 0.0
