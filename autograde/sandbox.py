"""A sandbox for the code a submission runs while it is graded (Linux).

``nbgrader autograde`` executes a notebook in a Jupyter kernel that, by default, runs as
the instructor, next to the masters (solutions and hidden tests), the gradebook and every
other submission. Here the kernel of each job runs inside:

* **bubblewrap** (``bwrap``): a mount namespace whose filesystem holds only the Python
  installation, ``/usr`` and ``/etc`` (read-only), the course's public files
  (``course_lib/``, ``data/``, ``requirements.txt``; read-only), a fresh ``/tmp`` and an
  empty working directory ``/home/student`` (size-limited tmpfs, the only writable places),
  and the folder of the kernel's connection sockets. No master, gradebook, scratch course
  or other submission is mounted, so none can be read or written, whatever the path
  (symlinks included). Its own network namespace (loopback only: Ray still works, nothing
  outside is reachable), PID namespace (it sees and can signal only its own processes;
  when the kernel's sandbox ends, all of them end) and IPC namespace;
* an **unprivileged user** (uid 65534, ``setpriv``, no capabilities, ``no_new_privs``);
* **cgroups** (v1, v2 or both: :mod:`autograde.cgroups`) per job: ``memory`` (RAM + swap +
  tmpfs; the OOM kill is reported as status ``memory``), ``pids`` (processes and threads: a
  fork bomb stops at the limit) and ``cpu`` (CFS quota: the job's share of the CPUs, so a
  busy loop cannot starve the rest);
* **rlimits** (``prlimit``): CPU seconds per process, the largest file, no core dumps.

The kernel talks to nbgrader over Unix sockets (ZeroMQ ``ipc`` transport) in a folder
bind-mounted into the sandbox, so it needs no network. Output is capped in the client
(:class:`autograde.execute.SandboxedExecute`), the cell and notebook wall-time limits are
nbgrader's and :func:`autograde.grade.grade`'s.

Where a mechanism is missing (not root, no bubblewrap, no usable cgroup hierarchy), the rest
still applies and :func:`describe` says which protection is off; ``autograde grade`` prints
it at the start of every run. ``make sandbox`` installs bubblewrap.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograde import cgroups
from autograde.cgroups import JobCgroups, kill_until_gone, owner_tag, remove_leftovers

__all__ = ["ENV", "Capabilities", "JobCgroups", "Limits", "capabilities", "describe",
           "kernel_command", "kill_until_gone", "owner_tag", "remove_leftovers"]

ENV = "AUTOGRADE_SANDBOX"  # the job's sandbox settings, JSON, from the driver to the worker
REPO = Path(__file__).resolve().parent.parent
GUARD = Path(__file__).resolve().parent / "guard.py"
SANDBOX_UID = 65534  # nobody
WORKDIR = "/home/student"
GUARD_IN_SANDBOX = "/opt/autograde/guard.py"
# environment variables a kernel may keep (prefixes); everything else (tokens, paths of
# the instructor's files) is dropped
ENV_KEEP = ("COURSE_", "MPL", "PYTHON", "LANG", "LC_", "TZ", "OMP_", "MKL_", "OPENBLAS_",
            "NUMBA_", "MODIN_", "RAY_", "AUTOGRADE_JOB", "AUTOGRADE_COURSE_STATE", "JPY_", "TERM")
ENV_DROP = ("RAY_ADDRESS", "RAY_AUTH_TOKEN", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME")


@dataclass
class Limits:
    """What one submission may use while it is graded. The defaults fit the course's
    notebooks (Ray included: ~1.1 GB and ~300 threads with 2 CPUs) and its 2 GB budget."""

    memory_mb: int = 2048  # the kernel and everything it starts (Ray too), tmpfs included
    processes: int = 1024  # processes + threads (cgroup pids)
    cpu_s: int = 900  # CPU seconds per process (RLIMIT_CPU)
    file_mb: int = 512  # largest file a process may write (RLIMIT_FSIZE)
    disk_mb: int = 512  # size of /home/student and of /tmp (tmpfs, counted in memory too)
    output_kb: int = 1024  # outputs kept per cell; the rest is dropped, with a note
    message_mb: int = 128  # largest kernel message the grader reads (a bigger one is dropped)
    cell_timeout_s: int = 180  # wall time of one cell (nbgrader's Execute.timeout)
    notebook_timeout_s: int = 900  # wall time of one notebook (the whole job)

    @classmethod
    def from_dict(cls, d: dict | None) -> Limits:
        return cls(**{k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__})

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with ``AUTOGRADE_LIMITS`` (JSON, e.g. ``{"memory_mb": 3072}``) on top.

        >>> Limits.from_env().memory_mb >= 1
        True
        """
        raw = os.environ.get("AUTOGRADE_LIMITS")
        if not raw:
            return cls()
        given = json.loads(raw)
        unknown = set(given) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"AUTOGRADE_LIMITS: unknown limits {sorted(unknown)}; known: "
                             f"{sorted(cls.__dataclass_fields__)}")
        return cls.from_dict(given)


@dataclass
class Capabilities:
    """Which protections this machine can give, and why the others are off."""

    bwrap: str | None = None  # path of a working bubblewrap
    root: bool = False
    cgroups: dict[str, Path] = field(default_factory=dict)  # controller -> parent folder
    cgroup_version: dict[str, int] = field(default_factory=dict)  # controller -> 1 or 2
    off: list[str] = field(default_factory=list)  # "protection: why"

    @property
    def complete(self) -> bool:
        return not self.off


def _bwrap_works(path: str) -> str | None:
    """None when ``bwrap`` can make the namespaces the sandbox needs; else why not."""
    cmd = [path, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
           "--ro-bind", "/", "/", "--", "true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


@functools.lru_cache(maxsize=1)
def capabilities() -> Capabilities:
    caps = Capabilities(root=hasattr(os, "geteuid") and os.geteuid() == 0)
    if not sys.platform.startswith("linux"):
        caps.off.append("every protection: the sandbox is Linux only")
        return caps
    found = shutil.which("bwrap")
    why = "bubblewrap is not installed (make sandbox, or apt-get install bubblewrap)"
    if found:
        why = _bwrap_works(found)
        if why is None:
            caps.bwrap = found
    if not caps.bwrap:
        caps.off.append(f"network, filesystem and process isolation: {why}")
    if not caps.root:
        caps.off.append("unprivileged user and cgroups: grading is not running as root")
        return caps
    if not shutil.which("setpriv"):
        caps.off.append("unprivileged user: setpriv (util-linux) is missing")
    found = cgroups.layout()  # v1, v2 or both; what is off says why
    caps.cgroups.update(found.cgroups)
    caps.cgroup_version.update(found.cgroup_version)
    caps.off += found.off
    return caps


def describe(limits: Limits, caps: Capabilities | None = None) -> str:
    """One line for the grade output: what is on, and what is off and why."""
    caps = caps or capabilities()
    on = [f"{limits.cell_timeout_s} s per cell", f"{limits.notebook_timeout_s} s per notebook",
          f"output {limits.output_kb} KiB per cell"]
    if caps.bwrap:
        on.append("no network, own filesystem view and processes (bubblewrap)")
        if caps.root:
            on.append(f"uid {SANDBOX_UID}")
    if "memory" in caps.cgroups:
        on.append(f"memory {limits.memory_mb} MiB")
    if "pids" in caps.cgroups:
        on.append(f"{limits.processes} processes")
    on.append(f"CPU {limits.cpu_s} s per process")
    line = "sandbox: " + ", ".join(on)
    if caps.off:
        line += "\nsandbox: OFF: " + "; ".join(caps.off)
    return line


# ---------------------------------------------------------------------------- the kernel
def _binds() -> list[tuple[str, str]]:
    """(option, path) of what the sandbox sees, besides its own /tmp, /dev, /proc and home."""
    out = [("--ro-bind", "/usr"), ("--ro-bind-try", "/etc")]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            out.append(("--symlink", top))
        elif os.path.isdir(top):
            out.append(("--ro-bind", top))
    # the interpreter and the environment (a venv points at its base installation)
    for prefix in {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
                   os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}:
        if not prefix.startswith(("/usr/", "/bin", "/lib")) and prefix != "/usr":
            out.append(("--ro-bind", prefix))
    if sys.prefix != os.path.realpath(sys.prefix):
        out.append(("--ro-bind", sys.prefix))
    # the course's public files: the library the notebooks import and its data
    for public in ("course_lib", "data", "requirements.txt"):
        if (REPO / public).exists():
            out.append(("--ro-bind", str(REPO / public)))
    return out


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _env(source: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in source.items()
           if k.startswith(ENV_KEEP) and k not in ENV_DROP}
    env.update(HOME=WORKDIR, USER="student", LOGNAME="student", TMPDIR="/tmp",
               XDG_CACHE_HOME="/tmp/cache", MPLCONFIGDIR="/tmp/matplotlib",
               COURSE_DATA_CACHE="/tmp/course-data",
               PATH=f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin")
    # Ray's raylet waits ~15 s for its agents to start; several sandboxes on a loaded 2-core
    # machine need longer (measured: 28 s, and 104 s at load 13). Not a limit of the sandbox.
    env.setdefault("RAY_agent_register_timeout_ms", "120000")
    return env


def kernel_command(cmd: list[str], settings: dict, env: dict[str, str]) -> list[str]:
    """``cmd`` (an ipykernel command line) wrapped in the job's sandbox: join the job's
    cgroups, set the rlimits, then bwrap and setpriv (those that are available)."""
    caps = capabilities()
    limits = Limits.from_dict(settings.get("limits"))
    conn = settings["conn"]
    inner = list(cmd) + [f"--IPKernelApp.exec_files={GUARD_IN_SANDBOX if caps.bwrap else GUARD}"]
    if caps.bwrap:
        args = [caps.bwrap, "--die-with-parent", "--new-session", "--unshare-net",
                "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "localhost",
                "--clearenv"]
        disk = str(limits.disk_mb * 2**20)
        args += ["--proc", "/proc", "--dev", "/dev",  # Ray's object store: /dev/shm
                 "--perms", "01777", "--size", str(limits.memory_mb * 2**20), "--tmpfs",
                 "/dev/shm", "--perms", "01777", "--size", disk, "--tmpfs", "/tmp"]
        made: set[str] = {"/", "/tmp"}
        for option, path in _binds() + [("--bind", conn),
                                        ("--ro-bind", GUARD_IN_SANDBOX)]:
            for parent in _parents(path):
                if parent not in made:
                    args += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            if option == "--symlink":
                args += [option, os.readlink(path), path]
            elif path == GUARD_IN_SANDBOX:
                args += [option, str(GUARD), path]
            else:
                args += [option, path, path]
            made.add(path)
        args += ["--perms", "0755", "--dir", "/home",
                 "--perms", "0777", "--size", disk, "--tmpfs", WORKDIR, "--chdir", WORKDIR]
        for key, value in _env(env).items():
            args += ["--setenv", key, value]
        args.append("--")
        if caps.root and shutil.which("setpriv"):
            args += ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}",
                     "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--"]
        inner = args + inner
    limited = ["prlimit", f"--cpu={limits.cpu_s}", f"--fsize={limits.file_mb * 2**20}",
               "--core=0", "--"] if shutil.which("prlimit") else []
    folders = dict.fromkeys(settings.get("cgroups", {}).values())  # v2: one for all
    join = "".join(f"echo $$ > {shlex.quote(path)}/cgroup.procs && " for path in folders)
    return ["/bin/sh", "-c", f'{join}exec "$@"', "sh", *limited, *inner]


def job_settings(limits: Limits, cgroups: dict[str, str], conn: Path) -> str:
    return json.dumps({"limits": asdict(limits), "cgroups": cgroups, "conn": str(conn)})


def settings_from_env() -> dict | None:
    raw = os.environ.get(ENV)
    return json.loads(raw) if raw else None
