"""nbgrader's Execute step, sandboxed (used by :mod:`autograde.worker` in every job).

* :class:`SandboxKernelManager` starts the kernel inside the job's sandbox
  (:func:`autograde.sandbox.kernel_command`), talking over Unix sockets in the job's
  connection folder, and interrupts it by message (a signal would stop at bubblewrap).
* :class:`SandboxedExecute` is nbgrader's ``Execute`` plus: every test cell first calls
  ``__autograde_verify__()`` (defined by :mod:`autograde.guard` at kernel start-up), so a
  test whose helpers, builtins or kernel were replaced fails instead of passing; and each
  cell keeps at most ``Limits.output_kb`` of output (the rest is dropped, with a note), so
  100 MB of prints cannot fill the grader's memory or the gradebook.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

from . import sandbox
from .integrity import INTEGRITY_MESSAGE as INTEGRITY

__all__ = ["GUARD_CALL", "SandboxKernelManager", "SandboxedExecute"]

GUARD_CALL = "__autograde_verify__()\n"


class SandboxKernelManager(AsyncKernelManager):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._settings = sandbox.settings_from_env()
        if self._settings:
            conn = Path(self._settings["conn"])
            conn.mkdir(parents=True, exist_ok=True)
            os.chmod(conn, 0o777)  # the kernel's uid makes its sockets here
            self.transport = "ipc"
            self.ip = str(conn / "kernel")
            self.connection_file = str(conn / "kernel.json")

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


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution")


def _size(msg: dict) -> int:
    content = msg.get("content", {})
    n = len(content.get("text", "") or "")
    for value in (content.get("data") or {}).values():
        n += len(value) if isinstance(value, str) else len(str(value))
    n += sum(len(line) for line in content.get("traceback", []) or [])
    return n


class SandboxedExecute(Execute):
    kernel_manager_class = SandboxKernelManager

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        settings = sandbox.settings_from_env() or {}
        self._limit = sandbox.Limits.from_dict(settings.get("limits")).output_kb * 1024
        self._used: dict[int, int] = {}
        self._guard = bool(settings)

    def preprocess_cell(self, cell, resources, index):
        if not (self._guard and _is_test(cell)):
            return super().preprocess_cell(cell, resources, index)
        source = cell.source
        cell.source = GUARD_CALL + source
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = source
        problem = self._verify_after()
        if problem and not any(INTEGRITY in str(o.get("evalue", "")) for o in cell.outputs
                               if o.get("output_type") == "error"):
            cell.outputs.append(NotebookNode(output_type="error", ename="AssertionError",
                                             evalue=problem, traceback=[problem]))
        return cell, resources

    def _verify_after(self) -> str:
        """Run the guard once more after a test cell, as a user expression: evaluated
        by the kernel directly, so no input transformer the submission added can drop it.
        Returns "" when the check passed, else why it failed."""
        return run_sync(self._async_verify_after)()

    async def _async_verify_after(self) -> str:
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"v": GUARD_CALL.strip()})
        reply = await self.async_wait_for_reply(msg_id)
        content = (reply or {}).get("content", {})
        found = content.get("user_expressions", {}).get("v")
        if content.get("status") == "ok" and found and found.get("status") == "ok":
            return ""
        if found and found.get("status") == "error":
            value = found.get("evalue", "")
            return value if INTEGRITY in value else f"{INTEGRITY}: {found.get('ename')}: {value}"
        return f"{INTEGRITY}: the kernel did not run the check after the test"

    def output(self, outs, msg, display_id, cell_index):
        used = self._used.get(cell_index, 0)
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data"):
            size = _size(msg)
            if used + size > self._limit:
                if used <= self._limit:
                    outs.append(NotebookNode(
                        output_type="stream", name="stdout",
                        text=f"\n[autograde: output past {self._limit // 1024} KiB dropped]\n"))
                self._used[cell_index] = self._limit + 1
                return None
            self._used[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)
