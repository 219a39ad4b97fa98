"""nbgrader's Execute step, sandboxed (used by :mod:`autograde.worker` in every job).

* :class:`SandboxKernelManager` starts the kernel inside the job's sandbox
  (:func:`autograde.sandbox.kernel_command`), talking over Unix sockets in the job's
  connection folder, interrupts it by message (a signal would stop at bubblewrap), and
  reads no kernel message larger than ``Limits.message_mb`` (ZeroMQ drops it unread and
  disconnects that channel for good), so the grader, which runs outside the job's memory
  limit, never holds more than that of one. Past a dropped output message the cells are
  still graded, on the kernel's replies (their later outputs are lost); past a dropped
  reply the kernel cannot be heard, and the notebook ends in its time limit.
* :class:`SandboxedExecute` is nbgrader's ``Execute`` plus:

  - **points only from the kernel's reply.** A test cell passes when the kernel's
    ``execute_reply`` says ``ok`` and the guard's checks before and after it hold; its
    ``execute_result`` and display outputs are dropped, so nothing the submission
    displays can become a grade (nbgrader reads a number in the first ``execute_result``
    as partial credit, and any other value as full marks, before it looks at errors);
    a failed test always carries an ``error`` output, even when the submission cleared it
    (:func:`autograde.integrity.graded_outputs`).
  - **the guard** (:mod:`autograde.guard`): before the first cell the grader gives the
    kernel's verifier a random name and secret of this run; before and after every test
    cell it evaluates ``<name>("<challenge>")`` as a user expression and expects the
    HMAC of the challenge, so a verifier shadowed or replaced by the submission fails
    the test (``grading integrity check failed``: the submission is ``invalid``).
  - **bounded outputs**: each cell keeps at most ``Limits.output_kb`` of output (the rest
    is dropped, with a note), and error outputs are capped (name, message, traceback).
  - **a cell that times out is that cell's error**, as in ``nbgrader autograde``
    (interrupted, ``CellTimeoutError``); grading goes on with the next cell, and the
    whole-notebook limit (:func:`autograde.grade.grade`) still ends a runaway submission.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from pathlib import Path
from queue import Empty

from jupyter_client.manager import AsyncKernelManager
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Enum

from . import integrity, sandbox
from .integrity import INTEGRITY_MESSAGE as INTEGRITY

__all__ = ["SandboxKernelManager", "SandboxedExecute", "bound_messages"]

CHECK_TIMEOUT_S = 30  # a kernel that does not answer the guard's check by then is busy


def bound_messages(context, limit_bytes: int) -> None:
    """Sockets made from ``context`` from now on drop, unread, any message over
    ``limit_bytes`` (ZeroMQ's ``MAXMSGSIZE``: the sender is disconnected and reconnects)."""
    import zmq

    context.setsockopt(zmq.MAXMSGSIZE, int(limit_bytes))


class SandboxKernelManager(AsyncKernelManager):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._settings = sandbox.settings_from_env()
        if self._settings:
            limits = sandbox.Limits.from_dict(self._settings.get("limits"))
            self._message_bytes = limits.message_mb * 2**20
            bound_messages(self.context, self._message_bytes)
            conn = Path(self._settings["conn"])
            conn.mkdir(parents=True, exist_ok=True)
            os.chmod(conn, 0o777)  # the kernel's uid makes its sockets here
            self.transport = "ipc"
            self.ip = str(conn / "kernel")
            self.connection_file = str(conn / "kernel.json")

    def client(self, **kwargs):
        """The kernel client, whose context (its own, as jupyter_client makes it) drops
        messages over the limit: its sockets are made later, by ``start_channels``."""
        kc = super().client(**kwargs)
        if self._settings:
            bound_messages(kc.context, self._message_bytes)
        return kc

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if not self._settings:
            return cmd
        return sandbox.kernel_command(cmd, self._settings, dict(os.environ))

    async def _async_pre_start_kernel(self, **kw):
        if self._settings and self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self._settings:
            os.chmod(self.connection_file, 0o644)  # readable by the kernel's uid


def _size(msg: dict) -> int:
    content = msg.get("content", {})
    n = len(content.get("text", "") or "")
    for value in (content.get("data") or {}).values():
        n += len(value) if isinstance(value, str) else len(str(value))
    n += sum(len(line) for line in content.get("traceback", []) or [])
    n += len(str(content.get("evalue", "") or ""))
    return n


class SandboxedExecute(Execute):
    kernel_manager_class = SandboxKernelManager
    # outputs that come late, or never (a message over the limit cuts the output channel
    # off), are left out; the test cells are graded on the kernel's replies all the same
    raise_on_iopub_timeout = Bool(False).tag(config=True)
    # the last cell has run and its outputs are in: the kernel is killed, not asked to
    # end. Asked, the sandboxed kernel of notebook 02 took 2.6 s to end while the slot sat
    # idle: a fifth of a 13 s job, measured on the course's 2-core machine
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(
        config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        settings = sandbox.settings_from_env() or {}
        self._limit = sandbox.Limits.from_dict(settings.get("limits")).output_kb * 1024
        self._used: dict[int, int] = {}
        self._guard = bool(settings)
        self._replies: dict[int, dict] = {}
        self._name = f"__autograde_verify_{secrets.token_hex(8)}__"
        self._secret = secrets.token_hex(32)
        self._ready = False

    # ------------------------------------------------------------------ the test cells
    def preprocess_cell(self, cell, resources, index):
        if self._guard and not self._ready and cell.cell_type == "code":
            run_sync(self._async_init)()
        if not (self._guard and integrity.is_test_cell(cell)):
            return super().preprocess_cell(cell, resources, index)
        before = self._check()
        cell, resources = super().preprocess_cell(cell, resources, index)
        after = "" if before.startswith(INTEGRITY) else self._check()
        reply = (self._replies.pop(index, None) or {}).get("content", {})
        checks = [m for m in (before, after) if m]
        tampered = next((m for m in checks if m.startswith(INTEGRITY)), "")
        unanswered = next((m for m in checks if not m.startswith(INTEGRITY)), "")
        cell.outputs = integrity.graded_outputs(cell.outputs, reply, tampered, unanswered)
        return cell, resources

    def on_cell_executed(self, **kwargs):
        reply = kwargs.get("execute_reply") or {}
        content = reply.get("content") or {}
        if content.get("status") == "error":
            reply = {**reply, "content": integrity.cap_error(content)}
            kwargs["execute_reply"] = reply
        self._replies[kwargs.get("cell_index")] = reply
        return super().on_cell_executed(**kwargs)

    # ------------------------------------------------------------------ the guard
    async def _ask(self, expression: str) -> dict | None:
        """Evaluate ``expression`` in the kernel as a user expression (outside any cell's
        source); its result, or None when the kernel did not answer in time."""
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"v": expression})
        deadline = time.monotonic() + min(CHECK_TIMEOUT_S, self.timeout or CHECK_TIMEOUT_S)
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=left)
            except (TimeoutError, Empty):
                break
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                content = msg.get("content", {})
                return content.get("user_expressions", {}).get("v") or {
                    "status": "error", "ename": "NoResult", "evalue": str(content)[:200]}
        return None

    async def _async_init(self) -> None:
        found = await self._ask(f"__autograde_init__({self._name!r}, {self._secret!r})")
        if not found or found.get("status") != "ok":
            raise RuntimeError(f"the grading guard did not start in the kernel: {found}")
        self._ready = True

    def _check(self) -> str:
        """"" when the guard's check holds; a message starting with INTEGRITY when the
        submission replaced something; another message when the kernel did not answer."""
        return run_sync(self._async_check)()

    async def _async_check(self) -> str:
        challenge = secrets.token_hex(16)
        want = hmac.new(self._secret.encode(), challenge.encode(), "sha256").hexdigest()
        found = await self._ask(f"{self._name}({challenge!r})")
        if found is None:
            return ("the kernel did not answer the grader's check within "
                    f"{CHECK_TIMEOUT_S} s (still busy with an earlier cell)")
        if found.get("status") == "ok":
            text = (found.get("data") or {}).get("text/plain", "")
            if hmac.compare_digest(str(text), repr(want)):
                return ""
            return f"{INTEGRITY}: the grader's verifier was replaced (wrong answer)"
        value = str(found.get("evalue", ""))[:2000]
        return value if INTEGRITY in value else (
            f"{INTEGRITY}: the grader's verifier could not run ({found.get('ename')}: {value})")

    # ------------------------------------------------------------------ outputs
    def output(self, outs, msg, display_id, cell_index):
        used = self._used.get(cell_index, 0)
        if msg["msg_type"] == "error":
            msg = {**msg, "content": integrity.cap_error(msg.get("content") or {})}
        if msg["msg_type"] in ("stream", "display_data", "execute_result",
                               "update_display_data", "error"):
            size = _size(msg)
            if used + size > self._limit and msg["msg_type"] != "error":
                room = self._limit - used
                if msg["msg_type"] == "stream" and room > 0:
                    # the kernel sends a burst of prints as one message: keep its first part
                    text = str((msg.get("content") or {}).get("text") or "")[:room]
                    super().output(outs, {**msg, "content": {**msg["content"], "text": text}},
                                   display_id, cell_index)
                if used <= self._limit:
                    outs.append(NotebookNode(
                        output_type="stream", name="stdout",
                        text=f"\n[autograde: output past {self._limit // 1024} KiB dropped]\n"))
                self._used[cell_index] = self._limit + 1
                return None
            self._used[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)
