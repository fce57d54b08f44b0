"""One base error and its named subclasses.

Every error a user can trigger says *what* is wrong, *where* (file, row, column when known) and
*how to fix it*, in one line. The CLI turns any :class:`DeadstockError` into that line and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class DeadstockError(Exception):
    """Base class of every error deadstock raises on purpose."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The error as one line: ``file, row N, column 'c': message. Fix: ...``."""
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class InputError(DeadstockError):
    """A fatal problem with the input data: missing table or column, unreadable file."""


class ConfigError(DeadstockError):
    """An unknown setting, a value of the wrong type, or a malformed config file."""


class DeadstockWarning(UserWarning):
    """Base class of the warnings deadstock emits."""
