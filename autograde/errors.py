"""Errors meant for a person: the command line prints them as one line and exits 2."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(ValueError):
    """Something only the person running the command can fix: an unknown assignment, a
    student with no submissions, another run holding the course, a malformed setting.

    The message is one sentence that says what to do; ``autograde`` prints it without a
    traceback (``autograde VERB: message``) and exits with status 2. A ``ValueError``, so
    code that caught the plain ``ValueError`` these used to be still catches them."""
