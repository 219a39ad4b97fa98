"""Grading on a Ray cluster (``autograde grade --cluster``, the cluster at ``RAY_ADDRESS``):
each submission is a Ray task that unpacks its scratch course on a node, grades it there
(:func:`autograde.grade.run.launch`, in that node's sandbox) and sends it back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..course import Course
from ..sandbox import Limits
from .plan import Job, Result
from .run import conclude, launch, prepare_scratch

__all__ = ["execute_on_ray"]


def _remote_job(archive: bytes, name: str, assignment: str, student: str, n_cpus: int,
                timeout_s: float, limits: dict | None = None) -> tuple[bytes, str, str, float, str]:
    """A Ray task: unpack a scratch course, grade it on this node, pack it back.
    Returns (archive, status, reason, seconds, node id)."""
    import io
    import tarfile
    import tempfile

    import ray

    with tempfile.TemporaryDirectory(prefix="autograde-remote-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        scratch = Path(tmp) / name
        status, reason, seconds = launch(scratch, assignment, student, None, n_cpus,
                                         timeout_s, str(Path(tmp)), Limits.from_dict(limits))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for sub in ("result.json", "worker.log", "sandbox.json", "autograded"):
                if (scratch / sub).exists():
                    tar.add(scratch / sub, arcname=f"{name}/{sub}")
    return buf.getvalue(), status, reason, seconds, ray.get_runtime_context().get_node_id()


def execute_on_ray(course: Course, job: Job, template: Path, n_cpus: int,
                   timeout_s: float,
                   limits: Limits | None = None) -> tuple[Result, Path | None, Path]:
    """One submission as a Ray task on the cluster ``ray.init()`` joined (RAY_ADDRESS)."""
    import io
    import tarfile

    import ray

    scratch = prepare_scratch(course.state / "jobs", job, template)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(scratch, arcname=scratch.name)
    task = ray.remote(num_cpus=n_cpus, max_retries=0)(_remote_job)
    try:
        archive, status, reason, seconds, node = ray.get(task.remote(
            buf.getvalue(), scratch.name, job.assignment, job.student, n_cpus, timeout_s,
            dataclasses.asdict(limits or Limits())))
    except Exception as exc:  # noqa: BLE001 - a lost node or task: report, do not stop
        return job.result("crash", reason=f"Ray task failed: {exc}"), None, scratch
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(scratch.parent, filter="data")
    result, executed = conclude(scratch, job, status, reason, seconds)
    result.node = node
    return result, executed, scratch
