"""Start Ray one way, for every notebook and for grading.

* Local by default, sized to the machine: never more CPUs than it has, and an
  object store capped (256 MiB by default) so a notebook and its Ray
  processes stay under the course's 2 GB budget.
* Quiet: no dashboard, no worker logs forwarded to the notebook, no usage
  statistics prompt, and whatever Ray prints on stderr while it starts is
  kept back (and shown only if starting fails), because nbgrader scores a
  test cell zero when it writes to stderr.
* When ``RAY_ADDRESS`` is set, it connects to that cluster instead (for a
  cluster started with ``ray start``, which turns on token authentication in
  Ray 2.60, also set ``RAY_AUTH_MODE=token``; Ray reads the token from
  ``~/.ray/auth_token`` or ``RAY_AUTH_TOKEN``).

Use it as a context manager, so Ray is shut down at the end::

    with cl.ray_session.session(num_cpus=2) as info:
        ...

or call :func:`start` in a setup cell and :func:`stop` in the last cell.
``ray`` itself is imported only when Ray is started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["RAY_CPUS_ENV", "RayInfo", "available_cpus", "is_running", "logical_cpus", "session",
           "start", "stop"]

DEFAULT_OBJECT_STORE_MB = 256
MIN_OBJECT_STORE_MB = 80  # Ray refuses less than 75 MiB

# Set before Ray starts: no usage-stats notice, no log deduplication banner.
_QUIET_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DEDUP_LOGS": "0",
    "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
}
# Ray gives its raylet 30 s (not configurable) to register; on a loaded 2-core machine
# (several notebooks graded at once) that can pass. Such a start is tried again, up to
# START_ATTEMPTS times in all (a start that succeeds costs nothing extra).
_RETRYABLE = "timed out during startup"
START_ATTEMPTS = 3
# The raylet waits for its agents (dashboard and runtime-env agents) to register; on a
# loaded 2-core machine they took 28-104 s (measured while grading several notebooks at
# once), longer than Ray's default wait. Raised to 120 s, unless set already.
_START_ENV = {"RAY_agent_register_timeout_ms": "120000"}


# Logical CPUs of a local Ray started without num_cpus, when more than the cores: the grader
# sets 2 in a one-CPU slot, so that two tasks can run side by side there (taking turns on
# the core) and the hidden tests can check that a submission's tasks do (raytools.side_by_side)
RAY_CPUS_ENV = "COURSE_RAY_CPUS"


@dataclass(frozen=True)
class RayInfo:
    """What :func:`start` started or joined."""

    address: str
    local: bool
    num_cpus: float
    object_store_mb: float

    def __repr__(self) -> str:
        where = "local" if self.local else f"cluster at {self.address}"
        return (f"RayInfo({where}: {self.num_cpus:g} CPUs, "
                f"object store {self.object_store_mb:.0f} MiB)")


def available_cpus() -> int:
    """CPUs this process may run on, at least 1: the CPUs of its affinity mask
    (taskset, cgroups), capped by ``COURSE_CPUS`` when that is set (the grader sets it
    to a submission's share of the machine).

    >>> available_cpus() >= 1
    True
    """
    try:
        cpus = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        cpus = max(1, os.cpu_count() or 1)
    cap = os.environ.get("COURSE_CPUS", "")
    if cap.isdigit() and int(cap) >= 1:
        cpus = min(cpus, int(cap))
    return cpus


def logical_cpus() -> int:
    """The CPUs a local Ray started without ``num_cpus`` gets: :func:`available_cpus`, or
    ``COURSE_RAY_CPUS`` when that is set and larger (the grader sets it to 2, see
    :func:`course_lib.raytools.side_by_side`).

    >>> logical_cpus() >= available_cpus()
    True
    """
    floor = os.environ.get(RAY_CPUS_ENV, "")
    return max(available_cpus(), int(floor) if floor.isdigit() else 0)


def is_running() -> bool:
    """True when this process is connected to Ray (without importing Ray if it is not loaded)."""
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


@contextlib.contextmanager
def _stderr_held_back() -> Iterator[tempfile.SpooledTemporaryFile]:
    """Send file descriptor 2 (and ``sys.stderr``) to a temporary file for the block."""
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+") as sink:
        saved_fd = os.dup(2)
        saved_py = sys.stderr
        try:
            os.dup2(sink.fileno(), 2)
            sys.stderr = sink
            yield sink
        finally:
            sys.stderr.flush()
            sys.stderr = saved_py
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


def _info(ray) -> RayInfo:
    res = ray.cluster_resources()
    ctx = ray.get_runtime_context()
    address = getattr(ctx, "gcs_address", None) or "local"
    return RayInfo(
        address=str(address),
        local=not os.environ.get("RAY_ADDRESS"),
        num_cpus=float(res.get("CPU", 0)),
        object_store_mb=float(res.get("object_store_memory", 0)) / 2**20,
    )


def start(num_cpus: int | None = None, object_store_mb: int = DEFAULT_OBJECT_STORE_MB,
          quiet: bool = True, **ray_kwargs) -> RayInfo:
    """Start (or join) Ray and return a :class:`RayInfo`. Idempotent.

    Parameters
    ----------
    num_cpus : int, optional
        CPUs for the local Ray; default :func:`logical_cpus` (all available, or
        ``COURSE_RAY_CPUS`` when grading), and never more than :func:`available_cpus` when
        given (a larger request is capped, with a note on stdout).
    object_store_mb : int
        Object store size in MiB for a local Ray (at least 80).
    quiet : bool
        Keep Ray's logs and warnings off the notebook (default True).
    ray_kwargs
        Passed on to ``ray.init``.

    With ``RAY_ADDRESS`` set, joins that cluster; ``num_cpus`` and
    ``object_store_mb`` are then the cluster's business and are ignored.
    """
    cores = available_cpus()
    if num_cpus is not None:
        if isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1:
            raise ValueError(f"num_cpus must be None or an int >= 1, got {num_cpus!r}")
        if num_cpus > cores:
            print(f"note: asked for num_cpus={num_cpus}, this machine has {cores}; using {cores}")
            num_cpus = cores
    if isinstance(object_store_mb, bool) or not isinstance(object_store_mb, int | float) \
            or object_store_mb < MIN_OBJECT_STORE_MB:
        raise ValueError(f"object_store_mb must be a number >= {MIN_OBJECT_STORE_MB} (MiB), "
                         f"got {object_store_mb!r}")

    for key, value in {**_QUIET_ENV, **_START_ENV}.items():
        os.environ.setdefault(key, value)

    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        import ray

    if ray.is_initialized():
        return _info(ray)

    kwargs: dict = {
        "include_dashboard": False,
        "log_to_driver": not quiet,
        "logging_level": logging.ERROR if quiet else logging.INFO,
    }
    if not os.environ.get("RAY_ADDRESS"):
        # "local": a Ray of our own even when `ray start` left a cluster on this machine,
        # which a plain ray.init() would join
        kwargs["address"] = "local"
        kwargs["num_cpus"] = num_cpus or logical_cpus()
        kwargs["object_store_memory"] = int(object_store_mb * 2**20)
    else:
        kwargs.pop("include_dashboard")
        # A hang here is silent while stderr is held back: say what is happening.
        print(f"connecting to the Ray cluster at RAY_ADDRESS={os.environ['RAY_ADDRESS']} ..."
              + ("" if os.environ.get("RAY_AUTH_MODE") else
                 " (if it never connects: clusters started by `ray start` use token "
                 "authentication; set RAY_AUTH_MODE=token)"))
    kwargs.update(ray_kwargs)

    if not quiet:
        ray.init(**kwargs)
        return _info(ray)
    with _stderr_held_back() as held, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                ray.init(**kwargs)
                break
            except Exception as exc:
                if attempt < START_ATTEMPTS and _RETRYABLE in str(exc) and "address" in kwargs:
                    ray.shutdown()  # stop what was started, then try again
                    continue
                held.seek(0)
                detail = held.read().strip()
                raise RuntimeError(
                    f"Ray failed to start: {exc}" + (f"\nRay said:\n{detail}" if detail else "")
                ) from exc
    return _info(ray)


def stop() -> None:
    """Shut Ray down if it is running (safe to call twice)."""
    if is_running():
        import ray

        with _stderr_held_back(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ray.shutdown()


@contextlib.contextmanager
def session(num_cpus: int | None = None, object_store_mb: int = DEFAULT_OBJECT_STORE_MB,
            quiet: bool = True, **ray_kwargs) -> Iterator[RayInfo]:
    """Context manager: :func:`start` on entry, :func:`stop` on exit (even after an error)."""
    started_here = not is_running()
    info = start(num_cpus=num_cpus, object_store_mb=object_store_mb, quiet=quiet, **ray_kwargs)
    try:
        yield info
    finally:
        if started_here:
            stop()
