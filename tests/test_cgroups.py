"""The per-job cgroups of the grading sandbox (autograde/cgroups.py), v1, v2 and hybrid.

Most tests build fake cgroup trees in tmp_path (the files a kernel would show, and the texts
of /proc/self/cgroup and /proc/self/mountinfo) and check the files written and read: the
limits, the statistics, the kill and the removal, and why a controller is off. Their kills
are real: ``sleep`` processes started here, their pids written to the fake ``cgroup.procs``.

Two tests use the real kernel (they need root): the host's own cgroups (v1 on this machine)
with a memory, a process and a CPU limit hit for real, and a cgroup2 filesystem mounted in a
tmp folder (on a hybrid host it offers no memory, pids or cpu controller: what can be done
there is). With ``AUTOGRADE_REQUIRE_SANDBOX=1`` (CI) they fail where they cannot run, rather
than skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from autograde import cgroups, sandbox
from autograde.cgroups import CONTROLLERS, JobCgroups, Layout
from autograde.sandbox import Limits

MiB = 2**20


# ---------------------------------------------------------------------------- helpers
def _need(why: str | None) -> None:
    """Skip with ``why``, or fail where the sandbox is required (CI)."""
    if why is None:
        return
    if os.environ.get("AUTOGRADE_REQUIRE_SANDBOX") == "1":
        pytest.fail(f"AUTOGRADE_REQUIRE_SANDBOX=1, but {why}")
    pytest.skip(why)


def _why_not_root() -> str | None:
    if not sys.platform.startswith("linux"):
        return "cgroups are Linux only"
    if os.geteuid() != 0:
        return "making cgroups needs root"
    return None


def _files(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def _mountinfo(*mounts: tuple) -> str:
    """mountinfo lines for (point, fstype, super options[, root]) tuples."""
    lines = []
    for i, (point, fstype, options, *root) in enumerate(mounts):
        lines.append(f"{30 + i} 23 0:{40 + i} {root[0] if root else '/'} {point} "
                     f"rw,nosuid,nodev - {fstype} {fstype} {options}")
    return "\n".join(lines) + "\n"


def _sleep() -> subprocess.Popen:
    return subprocess.Popen(["sleep", "30"])


def _killed(proc: subprocess.Popen) -> bool:
    try:
        return proc.wait(timeout=5) == -signal.SIGKILL
    finally:
        proc.kill()


@pytest.fixture
def fake_rmdir(monkeypatch):
    """rmdir as cgroupfs does it: a cgroup's interface files go with its folder."""
    def rmdir(path: Path) -> None:
        for entry in Path(path).iterdir():
            if entry.is_file():
                entry.unlink()
        os.rmdir(path)

    monkeypatch.setattr(cgroups, "_rmdir", rmdir)


def fake_v1(tmp_path: Path) -> tuple[Path, str, str]:
    """A v1 host: memory, pids and cpu,cpuacct hierarchies; the grader in /grader of each."""
    root = tmp_path / "cg"
    for sub in ("memory", "pids", "cpu,cpuacct"):
        (root / sub / "grader").mkdir(parents=True)
    mountinfo = _mountinfo((root / "memory", "cgroup", "rw,memory"),
                           (root / "pids", "cgroup", "rw,pids"),
                           (root / "cpu,cpuacct", "cgroup", "rw,cpu,cpuacct"),
                           (root / "systemd", "cgroup", "rw,name=systemd"))
    proc = "12:memory:/grader\n8:pids:/grader\n3:cpu,cpuacct:/grader\n1:name=systemd:/\n0::/\n"
    return root, proc, mountinfo


def fake_v2(tmp_path: Path, own_procs: str = "4242\n", root_procs: str = "1\n",
            offered: str = "cpuset cpu io memory hugetlb pids") -> tuple[Path, str, str]:
    """A v2 host: the grader in /system.slice/grader.service, which holds ``own_procs``."""
    root = tmp_path / "cg"
    _files(root, {"cgroup.controllers": offered, "cgroup.subtree_control": "",
                  "cgroup.procs": root_procs})  # the root: no cgroup.type
    _files(root / "system.slice", {"cgroup.controllers": offered,
                                   "cgroup.subtree_control": "cpu memory pids",
                                   "cgroup.procs": "", "cgroup.type": "domain"})
    _files(root / "system.slice" / "grader.service",
           {"cgroup.controllers": "cpu memory pids", "cgroup.subtree_control": "",
            "cgroup.procs": own_procs, "cgroup.type": "domain"})
    return root, "0::/system.slice/grader.service\n", _mountinfo((root, "cgroup2",
                                                                  "rw,nsdelegate"))


# ---------------------------------------------------------------------------- detection
def test_v1_detection_finds_the_graders_own_cgroup_of_each_controller(tmp_path):
    root, proc, mountinfo = fake_v1(tmp_path)
    found = cgroups.detect(root, proc, mountinfo)
    assert found.cgroups == {"memory": root / "memory" / "grader",
                             "pids": root / "pids" / "grader",
                             "cpu": root / "cpu,cpuacct" / "grader"}
    assert found.cgroup_version == dict.fromkeys(CONTROLLERS, 1)
    assert found.why == {} and found.off == []
    for parent in found.cgroups.values():  # the probe cgroup is gone
        assert [p.name for p in parent.iterdir()] == []


def test_v1_detection_strips_the_mounted_part_of_the_hierarchy(tmp_path):
    """In a container the mount shows /docker/<id> of the hierarchy, not all of it."""
    root = tmp_path / "cg"
    (root / "memory").mkdir(parents=True)
    found = cgroups.detect(root, "4:memory:/docker/abc\n",
                           _mountinfo((root / "memory", "cgroup", "rw,memory", "/docker/abc")))
    assert found.cgroups == {"memory": root / "memory"}
    assert "no cgroup v1 hierarchy with it and no cgroup v2 mounted under" in found.why["pids"]


def test_mounts_outside_the_root_are_ignored_and_escapes_decoded(tmp_path):
    root, proc, mountinfo = fake_v1(tmp_path)
    elsewhere = tmp_path / "other"
    (elsewhere / "pids" / "grader").mkdir(parents=True)
    spaced = tmp_path / "cg x"
    (spaced / "grader").mkdir(parents=True)
    text = (_mountinfo((elsewhere / "pids", "cgroup", "rw,pids"))
            + _mountinfo((str(spaced).replace(" ", "\\040"), "cgroup", "rw,memory")))
    found = cgroups.detect(tmp_path / "cg", proc, text)
    assert found.cgroups == {} and set(found.why) == set(CONTROLLERS)
    assert cgroups.detect(spaced, proc, text).cgroups == {"memory": spaced / "grader"}


def test_detection_accepts_proc_mounts_text(tmp_path):
    root, proc, _ = fake_v1(tmp_path)
    mounts = (f"cgroup {root}/memory cgroup rw,nosuid,memory 0 0\n"
              f"cgroup {root}/pids cgroup rw,pids 0 0\nproc /proc proc rw 0 0\n")
    found = cgroups.detect(root, proc, mounts)
    assert set(found.cgroups) == {"memory", "pids"} and list(found.why) == ["cpu"]


def test_v1_detection_says_when_the_own_cgroup_is_missing(tmp_path):
    root, proc, mountinfo = fake_v1(tmp_path)
    (root / "pids" / "grader").rmdir()
    found = cgroups.detect(root, proc, mountinfo)
    assert "pids" not in found.cgroups
    assert found.off == [f"process limit (cgroup pids): this process's cgroup "
                         f"{root / 'pids' / 'grader'} (from /proc/self/cgroup) is not there"]


def test_v2_detection_uses_the_own_cgroup_where_it_holds_no_process(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path, own_procs="")
    own = root / "system.slice" / "grader.service"
    found = cgroups.detect(root, proc, mountinfo)
    assert found.cgroups == dict.fromkeys(CONTROLLERS, own / "autograde")
    assert found.cgroup_version == dict.fromkeys(CONTROLLERS, 2) and found.why == {}
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (own / "autograde" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (root / "cgroup.subtree_control").read_text() == ""  # nothing else touched


def test_v2_detection_falls_back_to_the_root_where_the_own_cgroup_holds_processes(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path)
    own = root / "system.slice" / "grader.service"
    found = cgroups.detect(root, proc, mountinfo)
    assert found.cgroups == dict.fromkeys(CONTROLLERS, root / "autograde") and found.why == {}
    assert (own / "cgroup.subtree_control").read_text() == ""  # refused: not written
    assert not (own / "autograde").exists()
    assert (own / "cgroup.procs").read_text() == "4242\n"  # no process moved
    assert (root / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (root / "autograde" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"


def test_v2_detection_enables_only_what_is_not_enabled_yet(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path)
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
    cgroups.detect(root, proc, mountinfo)
    assert (root / "cgroup.subtree_control").read_text() == "cpu memory pids\n"


def test_v2_in_a_container_says_why_every_limit_is_off(tmp_path):
    """The cgroup namespace's root is a cgroup like another: with processes, no controllers
    for its children. Nothing is moved; each limit is off with the reason."""
    root = tmp_path / "cg"
    _files(root, {"cgroup.controllers": "cpu memory pids", "cgroup.subtree_control": "",
                  "cgroup.procs": "1\n7\n", "cgroup.type": "domain"})
    found = cgroups.detect(root, "0::/\n", _mountinfo((root, "cgroup2", "rw")))
    assert found.cgroups == {} and list(found.why) == list(CONTROLLERS)
    assert found.off[0].startswith("memory limit (cgroup memory): this process's own cgroup "
                                   "and the root of the mount: ")
    for why in found.why.values():
        assert f"{root} holds 2 process(es)" in why and "no internal processes" in why
        assert "refuses '+memory +pids +cpu' in its cgroup.subtree_control" in why
    assert (root / "cgroup.subtree_control").read_text() == ""
    assert not (root / "autograde").exists()


def test_v2_controllers_the_hierarchy_does_not_offer_are_off_with_the_list(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path, offered="cpu pids")
    (root / "system.slice" / "grader.service" / "cgroup.controllers").write_text("cpu pids")
    found = cgroups.detect(root, proc, mountinfo)
    assert set(found.cgroups) == {"pids", "cpu"}
    assert list(found.why) == ["memory"]
    assert "cgroup v2 does not offer it in" in found.why["memory"]
    assert "its cgroup.controllers lists cpu pids" in found.why["memory"]
    assert (root / "autograde" / "cgroup.subtree_control").read_text() == "+pids +cpu"


def test_hybrid_takes_each_controller_from_the_hierarchy_that_has_it(tmp_path):
    root = tmp_path / "cg"
    (root / "memory" / "grader").mkdir(parents=True)
    _files(root / "unified", {"cgroup.controllers": "cpu pids", "cgroup.subtree_control": "",
                              "cgroup.procs": "1\n"})
    mountinfo = _mountinfo((root / "memory", "cgroup", "rw,memory"),
                           (root / "unified", "cgroup2", "rw"))
    found = cgroups.detect(root, "4:memory:/grader\n0::/\n", mountinfo)
    assert found.cgroups == {"memory": root / "memory" / "grader",
                             "pids": root / "unified" / "autograde",
                             "cpu": root / "unified" / "autograde"}
    assert found.cgroup_version == {"memory": 1, "pids": 2, "cpu": 2}

    made = JobCgroups("course", "job1", found).create(Limits(memory_mb=100, processes=10), 1)
    job = "ag-" + cgroups.owner_tag("course") + "-job1"
    assert made == {"memory": str(root / "memory" / "grader" / job),
                    "pids": str(root / "unified" / "autograde" / job),
                    "cpu": str(root / "unified" / "autograde" / job)}
    command = sandbox.kernel_command(["true"], {"cgroups": made, "conn": str(tmp_path)}, {})
    assert command[2].count("/cgroup.procs") == 2  # each folder joined once


# ---------------------------------------------------------------------------- limits
def test_v1_limits_are_written_to_the_v1_files(tmp_path):
    root, proc, mountinfo = fake_v1(tmp_path)
    jobs = JobCgroups("course", "m1", cgroups.detect(root, proc, mountinfo))
    cpu = jobs.groups["cpu"].path
    _files(cpu, {"cpu.cfs_period_us": "50000\n"})  # as the kernel shows it
    made = jobs.create(Limits(memory_mb=512, processes=100), n_cpus=3)
    assert set(made) == set(CONTROLLERS) and len(set(made.values())) == 3
    memory, pids = jobs.groups["memory"].path, jobs.groups["pids"].path
    assert (memory / "memory.limit_in_bytes").read_text() == str(512 * MiB)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(512 * MiB)
    assert (pids / "pids.max").read_text() == "100"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "150000"


def test_v2_limits_are_written_to_one_folder(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path)
    jobs = JobCgroups("course", "m2", cgroups.detect(root, proc, mountinfo))
    made = jobs.create(Limits(memory_mb=2048, processes=1024), n_cpus=2)
    folder = root / "autograde" / f"ag-{cgroups.owner_tag('course')}-m2"
    assert made == dict.fromkeys(CONTROLLERS, str(folder))
    assert (folder / "memory.max").read_text() == str(2048 * MiB)
    assert (folder / "memory.swap.max").read_text() == "0"  # RAM + swap within the limit
    assert (folder / "pids.max").read_text() == "1024"
    assert (folder / "cpu.max").read_text() == "200000 100000"
    command = sandbox.kernel_command(["true"], {"cgroups": made, "conn": str(tmp_path)}, {})
    assert command[2].count(f"{folder}/cgroup.procs") == 1


def test_v2_cpu_quota_follows_the_period_the_kernel_shows(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path)
    jobs = JobCgroups("course", "m3", cgroups.detect(root, proc, mountinfo))
    _files(jobs.groups["cpu"].path, {"cpu.max": "max 50000\n"})
    jobs.create(Limits(), n_cpus=0)  # at least one CPU
    assert (jobs.groups["cpu"].path / "cpu.max").read_text() == "50000 50000"


def test_a_limit_the_kernel_refuses_leaves_that_controller_out(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path)
    jobs = JobCgroups("course", "m4", cgroups.detect(root, proc, mountinfo))
    (jobs.groups["pids"].path / "pids.max").mkdir(parents=True)  # writing it fails
    assert set(jobs.create(Limits(), 1)) == {"memory", "cpu"}


def test_versions_are_found_from_the_parent_without_cgroup_version(tmp_path):
    """A Capabilities made by hand (cgroups only) still gets each version right."""
    root, proc, mountinfo = fake_v2(tmp_path)
    found = cgroups.detect(root, proc, mountinfo)
    (root / "autograde" / "cgroup.controllers").write_text("memory pids cpu")
    caps = sandbox.Capabilities(root=True, cgroups=found.cgroups)
    assert {g.version for g in JobCgroups("c", "m", caps).groups.values()} == {2}
    v1root, proc1, mountinfo1 = fake_v1(tmp_path / "one")
    caps = sandbox.Capabilities(cgroups=cgroups.detect(v1root, proc1, mountinfo1).cgroups)
    assert {g.version for g in JobCgroups("c", "m", caps).groups.values()} == {1}


# ---------------------------------------------------------------------------- statistics
def test_v1_stats_are_read_from_oom_control_pids_events_and_max_usage(tmp_path):
    root, proc, mountinfo = fake_v1(tmp_path)
    jobs = JobCgroups("course", "s1", cgroups.detect(root, proc, mountinfo))
    jobs.create(Limits(), 1)
    assert jobs.stats() == {"oom_kills": 0, "pids_max_hits": 0, "peak_memory_mb": 0}
    _files(jobs.groups["memory"].path, {
        "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
        "memory.max_usage_in_bytes": f"{300 * MiB + 1}\n"})
    _files(jobs.groups["pids"].path, {"pids.events": "max 7\n"})
    assert jobs.stats() == {"oom_kills": 3, "pids_max_hits": 7, "peak_memory_mb": 301}


def test_v2_stats_are_read_from_memory_events_pids_events_and_memory_peak(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path)
    jobs = JobCgroups("course", "s2", cgroups.detect(root, proc, mountinfo))
    jobs.create(Limits(), 1)
    _files(jobs.groups["memory"].path, {
        "memory.events": "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n",
        "memory.peak": f"{123 * MiB}\n", "pids.events": "max 4\n"})
    assert jobs.stats() == {"oom_kills": 2, "pids_max_hits": 4, "peak_memory_mb": 123}


def test_stats_without_cgroups_are_zero():
    assert JobCgroups("course", "s3", Layout()).stats() == {
        "oom_kills": 0, "pids_max_hits": 0, "peak_memory_mb": 0}


# ---------------------------------------------------------------------------- kill, remove
def test_v1_kill_sends_sigkill_to_every_process_in_the_job(tmp_path):
    root, proc, mountinfo = fake_v1(tmp_path)
    jobs = JobCgroups("course", "k1", cgroups.detect(root, proc, mountinfo))
    jobs.create(Limits(), 1)
    a, b = _sleep(), _sleep()
    for group, pids in ((jobs.groups["memory"], f"{a.pid}\n{b.pid}\n"),
                        (jobs.groups["pids"], f"{b.pid}\n"), (jobs.groups["cpu"], "")):
        (group.path / "cgroup.procs").write_text(pids)
    assert jobs.pids() == {a.pid, b.pid}
    assert jobs.kill() == 2
    assert _killed(a) and _killed(b)
    assert jobs.pids() == set()


def test_v2_kill_without_cgroup_kill_sends_sigkill(tmp_path):
    root, proc, mountinfo = fake_v2(tmp_path)
    jobs = JobCgroups("course", "k2", cgroups.detect(root, proc, mountinfo))
    jobs.create(Limits(), 1)
    sleeper = _sleep()
    (jobs.groups["memory"].path / "cgroup.procs").write_text(f"{sleeper.pid}\n")
    assert jobs.kill() == 1 and _killed(sleeper)


def test_v2_kill_writes_cgroup_kill_then_kills_what_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "KILL_WAIT_S", 0.1)
    root, proc, mountinfo = fake_v2(tmp_path)
    jobs = JobCgroups("course", "k3", cgroups.detect(root, proc, mountinfo))
    jobs.create(Limits(), 1)
    folder = jobs.groups["memory"].path
    sleeper = _sleep()
    _files(folder, {"cgroup.kill": "", "cgroup.procs": f"{sleeper.pid}\n"})
    assert jobs.kill() == 1
    assert (folder / "cgroup.kill").read_text() == "1"
    assert _killed(sleeper)  # a fake cgroup.kill kills nothing: SIGKILL did


def test_remove_kills_and_removes_the_job_cgroups_and_those_made_in_them(tmp_path,
                                                                          fake_rmdir):
    root, proc, mountinfo = fake_v2(tmp_path)
    found = cgroups.detect(root, proc, mountinfo)
    jobs = JobCgroups("course", "r1", found)
    jobs.create(Limits(), 1)
    inner = jobs.groups["pids"].path / "made-by-the-job"
    sleeper = _sleep()
    _files(inner, {"cgroup.procs": f"{sleeper.pid}\n"})
    jobs.remove()
    assert _killed(sleeper)
    assert list((root / "autograde").glob("ag-*")) == []
    assert (root / "autograde").is_dir()  # the parent stays


def test_remove_gives_up_quietly_when_the_kernel_keeps_a_cgroup(tmp_path, monkeypatch):
    def busy(path):
        raise OSError(16, "Device or resource busy", str(path))

    monkeypatch.setattr(cgroups, "_rmdir", busy)
    group = cgroups.Cgroup(tmp_path / "job", 2)
    group.path.mkdir()
    group.remove(tries=2, pause_s=0.01)
    assert group.path.is_dir()


def test_remove_leftovers_removes_only_the_owners_jobs(tmp_path, fake_rmdir):
    root, proc, mountinfo = fake_v1(tmp_path)
    found = cgroups.detect(root, proc, mountinfo)
    for owner, marker in (("course-a", "1"), ("course-a", "2"), ("course-b", "1")):
        JobCgroups(owner, marker, found).create(Limits(), 1)
    sleeper = _sleep()
    (JobCgroups("course-a", "2", found).groups["pids"].path / "cgroup.procs").write_text(
        f"{sleeper.pid}\n")
    cgroups.remove_leftovers("course-a", found)
    assert _killed(sleeper)
    for parent in found.cgroups.values():
        assert [p.name for p in parent.iterdir()] == [f"ag-{cgroups.owner_tag('course-b')}-1"]


def test_sandbox_keeps_the_names_callers_use():
    assert sandbox.JobCgroups is JobCgroups
    assert sandbox.remove_leftovers is cgroups.remove_leftovers
    assert sandbox.owner_tag is cgroups.owner_tag
    assert sandbox.kill_until_gone is cgroups.kill_until_gone
    assert sandbox.Capabilities().cgroup_version == {}


# ---------------------------------------------------------------------------- real kernel
def test_real_host_cgroups_limit_count_kill_and_remove():
    """This host's own hierarchy (v1 here): a memory limit that OOM-kills, a process limit
    that refuses forks, a CPU quota, the statistics, the kill and nothing left behind."""
    _need(_why_not_root())
    found = cgroups.detect()
    _need(None if set(found.cgroups) == set(CONTROLLERS) else
          "this host's cgroups cannot limit a job: " + "; ".join(found.off))
    owner = f"test-cgroups-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    jobs = JobCgroups(owner, "real", found)
    try:
        made = jobs.create(Limits(memory_mb=64, processes=8), n_cpus=1)
        assert set(made) == set(CONTROLLERS)
        memory, pids, cpu = (jobs.groups[c] for c in CONTROLLERS)
        if memory.version == 1:
            assert int(memory.read("memory.limit_in_bytes")) == 64 * MiB
            assert int(cpu.read("cpu.cfs_quota_us")) == int(cpu.read("cpu.cfs_period_us"))
        else:
            assert int(memory.read("memory.max")) == 64 * MiB
            quota, period = cpu.read("cpu.max").split()
            assert quota == period
        assert pids.read("pids.max").strip() == "8"
        join = "".join(f"echo $$ > {f}/cgroup.procs && " for f in dict.fromkeys(made.values()))

        hog = subprocess.run(["/bin/sh", "-c", join + 'exec "$@"', "sh", sys.executable, "-c",
                              "b = b'x' * (256 * 2**20)"], timeout=60)
        assert hog.returncode == -signal.SIGKILL, hog
        stats = jobs.stats()
        assert stats["oom_kills"] >= 1 and 0 < stats["peak_memory_mb"] <= 64, stats

        forks = subprocess.Popen(["/bin/sh", "-c", join + "for i in 1 2 3 4 5 6 7 8 9; do "
                                  "sleep 30 & done; exec sleep 30"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while jobs.stats()["pids_max_hits"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert jobs.stats()["pids_max_hits"] > 0
        assert 1 <= len(jobs.pids()) <= 8
        assert forks.pid in jobs.pids() or forks.poll() is not None
        jobs.remove()
        forks.wait(timeout=5)
        assert jobs.pids() == set()
        assert not any(p.exists() for p in jobs.paths.values())
        tag = f"ag-{cgroups.owner_tag(owner)}-"
        assert not [p for parent in found.cgroups.values() for p in parent.glob(tag + "*")]
    finally:
        jobs.remove()


@pytest.fixture
def cgroup2(tmp_path):
    """A cgroup2 filesystem mounted in tmp_path (the host's v2 hierarchy, seen once more);
    what the tests made in it is removed, and it is unmounted."""
    _need(_why_not_root())
    mnt = tmp_path / "cgroup2"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "cgroup2", "none", str(mnt)], capture_output=True,
                          text=True)
    _need(None if done.returncode == 0 else
          f"cannot mount cgroup2 on {mnt}: {done.stderr.strip() or done.returncode}")
    had_parent = (mnt / cgroups.PARENT_V2).exists()
    try:
        yield mnt
    finally:
        for made in mnt.glob(f"ag-test-{os.getpid()}-*"):
            cgroups.Cgroup(made, 2).remove()
        if not had_parent and (mnt / cgroups.PARENT_V2).exists():
            os.rmdir(mnt / cgroups.PARENT_V2)
        if subprocess.run(["umount", str(mnt)]).returncode:
            subprocess.run(["umount", "-l", str(mnt)])


def test_real_cgroup2_detection_says_which_controllers_are_off_and_why(cgroup2):
    offered = set((cgroup2 / "cgroup.controllers").read_text().split())
    found = cgroups.detect(cgroup2)
    assert set(found.cgroups) | set(found.why) == set(CONTROLLERS)
    for c in set(CONTROLLERS) - offered:  # all three on a hybrid host: bound to v1
        assert c not in found.cgroups
        assert "cgroup v2 does not offer it in" in found.why[c] and str(cgroup2) in found.why[c]
        assert f"lists {' '.join(sorted(offered)) or 'none'}" in found.why[c]
    if not offered & set(CONTROLLERS):
        assert found.cgroups == {}


def test_real_cgroup2_job_folder_join_kill_and_remove(cgroup2, monkeypatch):
    group = cgroups.Cgroup(cgroup2 / f"ag-test-{os.getpid()}-job", 2)
    group.path.mkdir()
    proc = subprocess.Popen(["/bin/sh", "-c", f"echo $$ > {group.path}/cgroup.procs && "
                             "{ sleep 30 & exec sleep 30; }"])
    deadline = time.monotonic() + 5
    while len(group.pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.pid in group.pids() and len(group.pids()) == 2
    seen: list[set[int]] = []
    real = cgroups.kill_until_gone

    def spy(find_pids, **kw):
        seen.append(set(find_pids()))
        return real(find_pids, **kw)

    monkeypatch.setattr(cgroups, "kill_until_gone", spy)
    assert group.kill() == 2
    assert _killed(proc)
    if (group.path / "cgroup.kill").exists():  # Linux 5.14+: the kernel killed them all
        assert seen == [set()]
    group.remove()
    assert not group.path.exists()


def test_real_cgroup2_limit_files_missing_leave_the_controller_out(cgroup2):
    """Without the pids controller the kernel has no pids.max to write: the job gets no
    process limit, and says so by leaving pids out of what was made."""
    if "pids" in (cgroup2 / "cgroup.controllers").read_text().split():
        pytest.skip("this host's cgroup2 offers pids: its pids.max can be written")
    parent = cgroup2 / f"ag-test-{os.getpid()}-parent"
    parent.mkdir()
    jobs = JobCgroups("course", "x", Layout(cgroups={"pids": parent},
                                            cgroup_version={"pids": 2}))
    assert jobs.create(Limits(), 1) == {}
    assert jobs.groups["pids"].path.is_dir()
    jobs.remove()
    assert parent.is_dir() and not jobs.groups["pids"].path.exists()
