import pytest

from course_lib import profile


def test_machine_profile_fields():
    p = profile.machine_profile(check_gpu=False)
    for key in ("os", "python", "cores", "memory_gib", "numpy", "ray"):
        assert key in p
    assert p["python"].startswith("3.11")
    assert p["numpy"] is not None


def test_gpu_status_says_simulator_without_gpu(monkeypatch):
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    status = profile.gpu_status()
    assert status["gpu"] is False and "simulator" in status["note"]


def test_environment_report_flags_missing_and_different():
    rows = profile.environment_report({"numpy": "0.0.1", "surely-not-a-package": "1.0",
                                       "pytest": __import__("pytest").__version__})
    status = {r["package"]: r["status"] for r in rows}
    assert status == {"numpy": "different", "surely-not-a-package": "missing", "pytest": "ok"}


def test_course_environment_matches_its_pins():
    bad = [r for r in profile.environment_report() if r["status"] != "ok"]
    assert not bad, f"installed packages differ from requirements.txt: {bad}"


def test_read_pins_rejects_unpinned_lines(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("numpy>=2\n")
    with pytest.raises(ValueError, match="name==version"):
        profile.read_pins(f)


def test_show_profile_prints_plain_words(capsys):
    profile.show_profile(check_gpu=False)
    out = capsys.readouterr().out
    assert "Cores" in out and "Packages" in out


# --------------------------------------------------------------------------- measured constants

@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    """A private XDG cache: the tests never write into the real home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "parallel-ml-systems"


def test_cache_dir_follows_xdg(cache_home, monkeypatch):
    assert profile.cache_dir() == cache_home
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/home/learner")
    assert profile.cache_dir() == profile.Path("/home/learner/.cache/parallel-ml-systems")


def test_machine_constants_are_measured_fast_plausible_and_cached(cache_home):
    import time

    t0 = time.perf_counter()
    first = profile.machine_constants(ray=False)
    elapsed = time.perf_counter() - t0
    assert 0 < first["seconds"] <= elapsed, (first["seconds"], elapsed)
    assert first["cached"] is False and first["problems"] == []
    assert 0.5e9 <= first["bandwidth_Bps"] <= 500e9
    assert 1e9 <= first["flops_float64"] <= first["flops_float32"] * 1.5
    assert first["bandwidth_array_bytes"] >= 64 * 2**20
    assert first["ray_task_overhead_s"] is None  # not asked for, Ray not running
    files = list(cache_home.glob("machine-*.json"))
    assert len(files) == 1
    t0 = time.perf_counter()
    again = profile.machine_constants(ray=False)
    # no absolute timing bound: reading the cache is a ratio of measuring (~1000x faster)
    assert time.perf_counter() - t0 < elapsed / 10 and again["cached"] is True
    assert again["bandwidth_Bps"] == first["bandwidth_Bps"]
    assert again["key"] == profile.machine_key()
    fresh = profile.machine_constants(refresh=True, ray=False)
    assert fresh["cached"] is False and fresh["measured_at"] >= first["measured_at"]


def test_machine_constants_are_keyed_by_the_machine(cache_home, monkeypatch):
    profile.machine_constants(ray=False)
    monkeypatch.setattr(profile, "machine_key", lambda: {"hostname": "elsewhere", "cpu": "x",
                                                         "cores": 64, "numpy": "9"})
    other = profile.machine_constants(ray=False)
    assert other["cached"] is False  # another machine: measured anew, cached beside it
    assert len(list(cache_home.glob("machine-*.json"))) == 2


def test_a_broken_or_unwritable_cache_is_not_an_error(cache_home, monkeypatch):
    cache_home.mkdir(parents=True)
    path = profile._cache_file(profile.machine_key())
    path.write_text("{ not json")
    assert profile.machine_constants(ray=False)["cached"] is False
    assert profile.machine_constants(ray=False)["cached"] is True  # rewritten

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "read-only home")

    monkeypatch.setattr(profile.Path, "mkdir", refuse)
    assert profile.machine_constants(refresh=True, ray=False)["cached"] is False


def test_implausible_measurements_are_reported_not_cached(cache_home, monkeypatch):
    monkeypatch.setattr(profile, "_measure_bandwidth",
                        lambda repeats: {"bandwidth_Bps": 1e3, "bandwidth_array_bytes": 8,
                                         "last_level_cache_bytes": 0})
    got = profile.machine_constants(ray=False)
    assert got["problems"] and "bandwidth_Bps" in got["problems"][0]
    assert not list(cache_home.glob("machine-*.json"))


def test_check_plausible_ranges():
    good = {"bandwidth_Bps": 20e9, "flops_float64": 80e9, "flops_float32": 160e9,
            "ray_task_overhead_s": 1e-3, "ray_round_trip_s": 2e-3}
    assert profile.check_plausible(good) == []
    assert len(profile.check_plausible({**good, "flops_float64": 1e15,
                                        "ray_task_overhead_s": 5.0})) == 2
    assert profile.check_plausible({"bandwidth_Bps": None}) == []


def test_show_constants_prints_plain_words(cache_home, capsys):
    profile.show_profile(check_gpu=False, constants=True)
    out = capsys.readouterr().out
    assert "memory bandwidth" in out and "GFLOP/s" in out and "Ray empty task" in out
    profile.show_constants()
    assert "cached" in capsys.readouterr().out


@pytest.mark.ray
def test_machine_constants_add_rays_overhead_when_asked(cache_home):
    import time

    before = profile.machine_constants(ray=False)["seconds"]
    t0 = time.perf_counter()
    with_ray = profile.machine_constants(ray=True)  # starts Ray, measures only Ray, stops it
    wall = time.perf_counter() - t0
    assert with_ray["cached"] is False and with_ray["problems"] == []  # plausible ranges
    assert with_ray["ray_task_overhead_s"] > 0 and with_ray["ray_tasks_per_s"] > 0
    # Ray's start is reported apart, not counted in the measuring time (which adds Ray's
    # part to the cached measurement's)
    assert with_ray["ray_start_s"] > 0 and with_ray["seconds"] > before
    assert with_ray["seconds"] - before + with_ray["ray_start_s"] <= wall + 1e-3, (with_ray, wall)
    assert profile.machine_constants()["ray_task_overhead_s"] == with_ray["ray_task_overhead_s"]
