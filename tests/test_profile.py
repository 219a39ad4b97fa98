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
