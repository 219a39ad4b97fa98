"""Per-job cgroups for the grading sandbox, on cgroup v1, v2 (unified) and hybrid hosts.

Each job gets cgroups of its own, named ``ag-<owner hash>-<marker>``: made (with its limits)
by the driver before the job starts, joined by the job's kernel (which writes its pid to
``<folder>/cgroup.procs``), then read, killed and removed by the driver when the job ends.
The limits are the same on both versions:

* memory (RAM + swap, tmpfs included): v1 ``memory.limit_in_bytes`` and, where swap is
  accounted, ``memory.memsw.limit_in_bytes``; v2 ``memory.max`` and ``memory.swap.max = 0``;
* processes and threads: ``pids.max`` (both);
* CPU time, ``n_cpus`` CPUs' worth: v1 ``cpu.cfs_quota_us = n_cpus * cpu.cfs_period_us``;
  v2 ``cpu.max = "n_cpus*period period"``;
* read afterwards: OOM kills (v1 ``memory.oom_control``, v2 ``memory.events``: ``oom_kill``),
  forks refused (``pids.events``: ``max``), peak memory (v1 ``memory.max_usage_in_bytes``,
  v2 ``memory.peak``); killed with ``cgroup.kill`` where the kernel has it (v2, 5.14+), and
  SIGKILL to every pid in ``cgroup.procs``, again while some fork.

Where the job cgroups go (:func:`detect`, from ``/proc/self/cgroup`` and the mount table):

* **v1**: in the grader's own cgroup of each controller's hierarchy;
* **v2**: in one parent cgroup ``autograde``, made in the grader's own cgroup (its ``0::``
  line) or, failing that, at the root of the mount, with ``+memory +pids +cpu`` written to
  the ``cgroup.subtree_control`` of the folder it is made in and to its own. v2 passes no
  controller to the children of a cgroup that holds processes (other than the root: "no
  internal processes"); the grader's own cgroup holds at least the grader. Where both places
  refuse (a container whose cgroup namespace root holds its processes), the limits are off
  and :attr:`Layout.off` says which and why: no process is moved. ``autograde`` stays;
* **hybrid** (v1 and v2 both mounted): each controller from the hierarchy that has it (a
  controller bound to a v1 hierarchy is not in v2's ``cgroup.controllers``).

Why the cgroup files and not ``systemd-run --scope -p MemoryMax=...``: that needs systemd as
PID 1 and a D-Bus, which containers and most CI jobs lack; nsjail would be one more binary to
build, and it overlaps bubblewrap. The files work wherever the hierarchy is writable, as in
crun and docker's cgroupfs driver.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograde.sandbox import Limits

__all__ = ["CGROUP_ROOT", "CONTROLLERS", "Cgroup", "JobCgroups", "Layout", "Mount", "detect",
           "kill_until_gone", "layout", "owner_tag", "parse_mounts", "parse_proc_cgroup",
           "remove_leftovers"]

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")
WHAT = {"memory": "memory limit", "pids": "process limit", "cpu": "CPU quota"}
PARENT_V2 = "autograde"  # the v2 parent of every job cgroup
PERIOD_US = 100_000  # the kernel's default CFS period, µs, when a cgroup does not say
KILL_WAIT_S = 1.0  # how long cgroup.kill may take to empty a cgroup before SIGKILL, s


# ---------------------------------------------------------------------------- detection
@dataclass(frozen=True)
class Mount:
    """A mounted cgroup hierarchy: where (``point``), which of its folders is mounted there
    (``root``, "/" for all of it), its version and, on v1, which of :data:`CONTROLLERS` it has."""

    point: Path
    root: str
    version: int
    controllers: frozenset[str] = frozenset()

    def folder(self, path: str) -> Path:
        """Where the cgroup ``path`` (as /proc/self/cgroup writes it) is under this mount.

        >>> Mount(Path("/c/memory"), "/docker/ab", 1).folder("/docker/ab/job")
        PosixPath('/c/memory/job')
        """
        root = self.root.rstrip("/")
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root):]
        return self.point / path.lstrip("/")


def _unescape(text: str) -> str:
    """Mount table fields write a space as ``\\040``."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mounts(text: str) -> list[Mount]:
    """The cgroup hierarchies in ``text``: /proc/self/mountinfo or /proc/mounts.

    >>> m = parse_mounts("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\\n"
    ...                  "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\\n"
    ...                  "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0")
    >>> [(str(x.point), x.version, sorted(x.controllers)) for x in m]
    [('/sys/fs/cgroup/memory', 1, ['memory']), ('/sys/fs/cgroup/unified', 2, []), \
('/sys/fs/cgroup/cpu,cpuacct', 1, ['cpu'])]
    """
    out = []
    for line in text.splitlines():
        if " - " in line:  # mountinfo: id parent dev root point options [tags] - type src super
            left, _, right = line.partition(" - ")
            head, tail = left.split(), right.split()
            if len(head) < 5 or len(tail) < 3:
                continue
            root, point, fstype, options = head[3], head[4], tail[0], tail[2]
        else:  # /proc/mounts: source point type options dump pass
            fields = line.split()
            if len(fields) < 4:
                continue
            root, point, fstype, options = "/", fields[1], fields[2], fields[3]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        found = frozenset(o for o in options.split(",") if o in CONTROLLERS)
        out.append(Mount(Path(_unescape(point)), _unescape(root),
                         2 if fstype == "cgroup2" else 1, found if fstype == "cgroup" else
                         frozenset()))
    return out


def parse_proc_cgroup(text: str) -> tuple[dict[str, str], str | None]:
    """(v1 controller -> cgroup path, v2 cgroup path or None) from /proc/self/cgroup.

    >>> parse_proc_cgroup("4:memory:/a\\n1:cpu,cpuacct:/b\\n9:name=systemd:/\\n0::/c")
    ({'memory': '/a', 'cpu': '/b', 'cpuacct': '/b'}, '/c')
    """
    v1: dict[str, str] = {}
    v2 = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
        else:
            v1.update((c, parts[2]) for c in parts[1].split(",") if c and "=" not in c)
    return v1, v2


@dataclass
class Layout:
    """Where this host's job cgroups go (:func:`detect`). The field names are those of
    :class:`autograde.sandbox.Capabilities`, so either can be given to :class:`JobCgroups`."""

    cgroups: dict[str, Path] = field(default_factory=dict)  # controller -> parent folder
    cgroup_version: dict[str, int] = field(default_factory=dict)  # controller -> 1 or 2
    why: dict[str, str] = field(default_factory=dict)  # controller -> why it is off

    @property
    def off(self) -> list[str]:
        """"protection (cgroup controller): why" for each controller that cannot be used.

        >>> Layout(why={"pids": "not mounted"}).off
        ['process limit (cgroup pids): not mounted']
        """
        return [f"{WHAT[c]} (cgroup {c}): {why}" for c, why in self.why.items()]


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _words(path: Path) -> set[str]:
    """The words of a file such as cgroup.controllers, a leading + dropped (fake trees)."""
    return {w.lstrip("+") for w in _read(path).split()}


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _probe_v1(controller: str, mount: Mount, own: str | None) -> tuple[Path | None, str]:
    """(the grader's own cgroup folder, "") where a job cgroup can be made in it; else
    (None, why not)."""
    if own is None:
        return None, (f"/proc/self/cgroup names no {controller} cgroup for this process, "
                      f"though {mount.point} is mounted")
    folder = mount.folder(own)
    if not folder.is_dir():
        return None, f"this process's cgroup {folder} (from /proc/self/cgroup) is not there"
    probe = folder / f"autograde-probe-{os.getpid()}"
    try:
        probe.mkdir(exist_ok=True)
        _rmdir(probe)
    except OSError as exc:
        return None, f"cannot make a cgroup in {folder}: {exc.strerror or exc}"
    return folder, ""


def _enable(folder: Path, controllers: list[str]) -> str:
    """Write ``+controller ...`` to ``folder``'s cgroup.subtree_control where not there yet;
    "" when done, else why not."""
    todo = [c for c in controllers if c not in _words(folder / "cgroup.subtree_control")]
    if not todo:
        return ""
    what = " ".join(f"+{c}" for c in todo)
    procs = _read(folder / "cgroup.procs").split()
    busy = (f"{folder} holds {len(procs)} process(es)"
            f"{', this grader among them' if str(os.getpid()) in procs else ''}, and cgroup "
            f"v2 passes no controller to the children of a cgroup with processes in it (no "
            f"internal processes), so it refuses '{what}' in its cgroup.subtree_control")
    if procs and (folder / "cgroup.type").exists():  # not the root, which may have both
        return busy
    try:
        (folder / "cgroup.subtree_control").write_text(what)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return busy
        return f"writing '{what}' to {folder}/cgroup.subtree_control failed: {exc.strerror}"
    return ""


def _prepare_v2(mount: Mount, own: str | None,
                wanted: list[str]) -> tuple[Path | None, list[str], dict[str, str]]:
    """The v2 parent of the job cgroups, made in the grader's own cgroup or else at the root
    of ``mount``, with the controllers of ``wanted`` it could enable there; the others with
    why not. (None, [], why) where no place works."""
    mine = mount.folder(own) if own is not None else None
    places = [mine] if mine is not None and mine.is_dir() else []
    if mount.point not in places:
        places.append(mount.point)
    reasons: dict[str, list[str]] = {c: [] for c in wanted}
    for place in places:
        label = "the root of the mount" if place != mine else (
            "this process's own cgroup" + (" and the root of the mount"
                                           if place == mount.point else ""))
        offered = _words(place / "cgroup.controllers")
        usable = [c for c in wanted if c in offered]
        for c in wanted:
            if c not in usable:
                reasons[c].append(
                    f"cgroup v2 does not offer it in {place} ({label}): its cgroup.controllers "
                    f"lists {' '.join(sorted(offered)) or 'none'} (on a hybrid host it may be "
                    f"bound to a cgroup v1 hierarchy)")
        if not usable:
            continue
        why = _enable(place, usable)
        parent = place / PARENT_V2
        if not why:
            try:
                parent.mkdir(exist_ok=True)
                why = _enable(parent, usable)
            except OSError as exc:
                why = f"cannot make {parent}: {exc.strerror or exc}"
        if why:
            for c in usable:
                reasons[c].append(f"{label}: {why}")
            continue
        enabled = _words(parent / "cgroup.subtree_control")
        got = [c for c in usable if c in enabled]
        for c in usable:
            if c not in got:
                reasons[c].append(f"{parent}/cgroup.subtree_control does not list it")
        if got:
            return parent, got, {c: "; ".join(r) for c, r in reasons.items() if c not in got}
    return None, [], {c: "; ".join(r) for c, r in reasons.items()}


def detect(root: Path | str = CGROUP_ROOT, proc_cgroup: str | None = None,
           mountinfo: str | None = None) -> Layout:
    """Where this process can make job cgroups, per controller of :data:`CONTROLLERS`.

    ``root`` is where the cgroup hierarchies are mounted (mounts elsewhere are ignored);
    ``proc_cgroup`` and ``mountinfo`` are the texts of /proc/self/cgroup and
    /proc/self/mountinfo (or /proc/mounts), read when None. On v1 a probe cgroup is made and
    removed; on v2 the parent ``autograde`` cgroup is made and the controllers enabled.
    """
    root = Path(root)
    out = Layout()
    try:
        proc_cgroup = Path("/proc/self/cgroup").read_text() if proc_cgroup is None else \
            proc_cgroup
        mountinfo = Path("/proc/self/mountinfo").read_text() if mountinfo is None else \
            mountinfo
    except OSError as exc:
        out.why = {c: f"cannot read {exc.filename}: {exc.strerror}" for c in CONTROLLERS}
        return out
    v1_paths, v2_path = parse_proc_cgroup(proc_cgroup)
    mounts = [m for m in parse_mounts(mountinfo) if _under(m.point, root)]
    left = []
    for c in CONTROLLERS:
        v1 = next((m for m in mounts if m.version == 1 and c in m.controllers), None)
        if v1 is None:
            left.append(c)
            continue
        folder, why = _probe_v1(c, v1, v1_paths.get(c))
        if folder is None:
            out.why[c] = why
        else:
            out.cgroups[c], out.cgroup_version[c] = folder, 1
    v2 = next((m for m in mounts if m.version == 2), None)
    if left and v2 is None:
        out.why.update((c, f"no cgroup v1 hierarchy with it and no cgroup v2 mounted under "
                           f"{root}") for c in left)
    elif left:
        parent, got, why = _prepare_v2(v2, v2_path, left)
        out.why.update(why)
        for c in got:
            out.cgroups[c], out.cgroup_version[c] = parent, 2
    out.why = {c: out.why[c] for c in CONTROLLERS if c in out.why}  # in a fixed order
    return out


@functools.lru_cache(maxsize=1)
def layout() -> Layout:
    """This host's :func:`detect`, once per process: everything off where this is not Linux
    or grading does not run as root."""
    if not sys.platform.startswith("linux"):
        return Layout(why=dict.fromkeys(CONTROLLERS, "cgroups are Linux only"))
    if os.geteuid() != 0:
        return Layout(why=dict.fromkeys(CONTROLLERS, "grading is not running as root"))
    return detect()


# ---------------------------------------------------------------------------- one cgroup
def _rmdir(path: Path) -> None:
    os.rmdir(path)  # the tests replace it for fake trees, whose folders hold real files


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: the kernel lists none in cgroup.procs)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _int(text: str, default: int) -> int:
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return default


def _keyed(text: str) -> dict[str, int]:
    """``name value`` lines (memory.events, pids.events, memory.oom_control) as a dict.

    >>> _keyed("oom 2\\noom_kill 1\\noom_group_kill 0")["oom_kill"]
    1
    """
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


@dataclass
class Cgroup:
    """One cgroup folder of a job, ``version`` 1 or 2; what is done to it is the same for
    all of its controllers."""

    path: Path
    version: int

    def read(self, name: str) -> str:
        """The text of the file ``name`` in it; "" where it cannot be read."""
        return _read(self.path / name)

    def limit(self, controller: str, limits: Limits, n_cpus: int) -> None:
        """Write the limit of ``controller``: ``limits.memory_mb`` MiB of RAM + swap,
        ``limits.processes`` processes and threads, ``n_cpus`` CPUs of time. Raises OSError
        where the kernel refuses it."""
        path = self.path
        if controller == "memory":
            limit = str(limits.memory_mb * 2**20)  # bytes
            if self.version == 1:
                (path / "memory.limit_in_bytes").write_text(limit)
                with contextlib.suppress(OSError):  # where swap is accounted
                    (path / "memory.memsw.limit_in_bytes").write_text(limit)
            else:
                (path / "memory.max").write_text(limit)
                with contextlib.suppress(OSError):  # where swap is accounted
                    (path / "memory.swap.max").write_text("0")
        elif controller == "pids":
            (path / "pids.max").write_text(str(limits.processes))
        elif controller == "cpu":
            if self.version == 1:
                period = _int(self.read("cpu.cfs_period_us"), PERIOD_US)
                (path / "cpu.cfs_quota_us").write_text(str(max(1, n_cpus) * period))
            else:
                fields = self.read("cpu.max").split()  # "QUOTA PERIOD", QUOTA may be max
                period = _int(fields[1] if len(fields) > 1 else "", PERIOD_US)
                (path / "cpu.max").write_text(f"{max(1, n_cpus) * period} {period}")
        else:
            raise ValueError(f"controller {controller!r}: expected one of {CONTROLLERS}")

    def folders(self) -> list[Path]:
        """It and the cgroups made in it (by a job that runs as root), deepest first."""
        found = [Path(d) for d, _, _ in os.walk(self.path, topdown=False)]
        return found or [self.path]

    def pids(self) -> set[int]:
        """The live processes in it and in the cgroups below it."""
        found = set()
        for folder in self.folders():
            found.update(int(p) for p in _read(folder / "cgroup.procs").split() if p.isdigit())
        return {p for p in found if _alive(p)}

    def kill(self) -> int:
        """Kill every process in it: ``cgroup.kill`` (v2) where the kernel has it, then
        SIGKILL to what is left, again while some fork. Returns how many processes it held."""
        held = len(self.pids())
        if self.version == 2 and (self.path / "cgroup.kill").exists() and held:
            with contextlib.suppress(OSError):
                (self.path / "cgroup.kill").write_text("1")
                deadline = time.monotonic() + KILL_WAIT_S
                while self.pids() and time.monotonic() < deadline:
                    time.sleep(0.01)
        kill_until_gone(self.pids, rounds=50, pause_s=0.05)
        return held

    def remove(self, tries: int = 40, pause_s: float = 0.05) -> None:
        """Kill its processes and remove it (the cgroups below it first); a killed process
        leaves its cgroup a moment later, so each removal is tried ``tries`` times,
        ``pause_s`` seconds apart."""
        self.kill()
        for folder in self.folders():
            for _ in range(tries):
                try:
                    _rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(pause_s)


# ---------------------------------------------------------------------------- one job
class JobCgroups:
    """The cgroups of one job (``ag-<owner hash>-<marker>``), made by the driver before the
    job starts, joined by the kernel, read and removed by the driver when the job ends.

    ``caps``: a :class:`Layout` or :class:`autograde.sandbox.Capabilities` (``cgroups``:
    controller -> parent folder, ``cgroup_version``: controller -> 1 or 2); this host's
    :func:`layout` when None."""

    def __init__(self, owner: str, marker: str, caps: Any = None):
        self.caps = layout() if caps is None else caps
        self.name = f"ag-{owner_tag(owner)}-{marker}"
        versions = getattr(self.caps, "cgroup_version", None) or {}
        self.paths = {c: Path(parent) / self.name for c, parent in self.caps.cgroups.items()}
        self.groups: dict[str, Cgroup] = {}  # controller -> its cgroup (v2: one for all)
        by_path: dict[Path, Cgroup] = {}
        for c, path in self.paths.items():
            version = versions.get(c) or (2 if (path.parent / "cgroup.controllers").exists()
                                          else 1)
            self.groups[c] = by_path.setdefault(path, Cgroup(path, version))

    def _distinct(self) -> list[Cgroup]:
        return list({id(g): g for g in self.groups.values()}.values())

    def create(self, limits: Limits, n_cpus: int) -> dict[str, str]:
        """Make the job's cgroups with their limits (:meth:`Cgroup.limit`). Returns
        controller -> the folder the kernel joins by writing its pid to
        ``<folder>/cgroup.procs`` (on v2 one folder, under each controller); a controller
        whose limit the kernel refused is left out (that limit is off for this job)."""
        made = {}
        for controller, group in self.groups.items():
            try:
                group.path.mkdir(exist_ok=True)
                group.limit(controller, limits, n_cpus)
                made[controller] = str(group.path)
            except OSError:
                continue
        return made

    def stats(self) -> dict[str, int]:
        """``oom_kills`` (processes the OOM killer killed), ``pids_max_hits`` (forks refused
        at the limit) and ``peak_memory_mb`` (highest memory use, MiB rounded up; 0 where
        unknown: no memory cgroup, or a kernel before 5.19 on v2)."""
        out = {"oom_kills": 0, "pids_max_hits": 0, "peak_memory_mb": 0}
        memory = self.groups.get("memory")
        if memory is not None:
            v1 = memory.version == 1
            events = _keyed(memory.read("memory.oom_control" if v1 else "memory.events"))
            out["oom_kills"] = events.get("oom_kill", 0)
            peak = _int(memory.read("memory.max_usage_in_bytes" if v1 else "memory.peak"), 0)
            out["peak_memory_mb"] = -(-peak // 2**20)
        pids = self.groups.get("pids")
        if pids is not None:
            out["pids_max_hits"] = _keyed(pids.read("pids.events")).get("max", 0)
        return out

    def pids(self) -> set[int]:
        """The live processes in the job's cgroups."""
        return set().union(*(g.pids() for g in self._distinct()))

    def kill(self) -> int:
        """Kill every process in the job's cgroups; returns how many there were."""
        return sum(g.kill() for g in self._distinct())

    def remove(self) -> None:
        """Kill every process in the job's cgroups and remove them."""
        for group in self._distinct():
            group.remove()


def kill_until_gone(find_pids: Callable[[], Collection[int]], rounds: int,
                    pause_s: float) -> int:
    """SIGKILL the processes ``find_pids()`` lists, and look again (they may have forked
    meanwhile) ``pause_s`` seconds later, up to ``rounds`` times; returns how many kills
    were sent."""
    killed = 0
    for _ in range(rounds):
        pids = find_pids()
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(pause_s)
    return killed


def owner_tag(owner: str) -> str:
    """8 hex digits naming ``owner`` (a course's state folder) in its jobs' cgroup names.

    >>> len(owner_tag("x"))
    8
    """
    return hashlib.sha256(owner.encode()).hexdigest()[:8]


def _markers(owner: str, caps: Any) -> Iterator[str]:
    prefix = f"ag-{owner_tag(owner)}-"
    for parent in {Path(p) for p in caps.cgroups.values()}:
        for found in parent.glob(prefix + "*"):
            if found.is_dir():
                yield found.name[len(prefix):]


def remove_leftovers(owner: str, caps: Any = None) -> None:
    """Kill and remove the cgroups a killed run of ``owner`` left behind (``caps``: as for
    :class:`JobCgroups`)."""
    caps = layout() if caps is None else caps
    for marker in sorted(set(_markers(owner, caps))):
        JobCgroups(owner, marker, caps).remove()
