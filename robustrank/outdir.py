"""The audit's output folder: name checks, an exclusive lock, and a checkpoint that is never
destroyed before the audit can run.

* :func:`check_name` rejects audit names that would leave the output root (``.``, ``..``).
* :class:`OutputLock` holds ``<out>/.robustrank.lock`` (``flock``) for the whole audit; a second
  audit on the same folder fails at once with a message naming the process that holds it. The
  kernel releases the lock when the holder dies (also on ``kill -9``), so a stale lock file
  never blocks a later run.
* :func:`set_aside_checkpoint` moves an existing checkpoint out of the way (never truncates it)
  when an audit starts without ``--resume``; the message says how to resume from it.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
from pathlib import Path

from robustrank.errors import RobustRankError

__all__ = ["OutputBusy", "OutputLock", "OutputWriteError", "check_name", "set_aside_checkpoint"]

log = logging.getLogger(__name__)

LOCK_NAME = ".robustrank.lock"
_DOTS = re.compile(r"^\.+$")


class OutputBusy(RobustRankError):
    """Another audit holds the output folder."""


def check_name(name: str) -> str:
    """Validate an audit name used as a folder name (``{name}`` in ``output.dir``).

    Raises:
        ValueError: A name made of dots only (``.``, ``..``) would write into (or above) the
            output root.
    """
    if _DOTS.match(name):
        raise ValueError(f"{name!r} is not a usable folder name (dots only would write outside the output root)")
    return name


class OutputLock:
    """Exclusive lock on an output folder for the lifetime of an audit.

    Args:
        folder: The output folder (created if needed).

    Raises:
        OutputBusy: Another live process holds the lock; the message names its pid.
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        """Take the lock (non-blocking)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no locking
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            try:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            except OSError:
                pass
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise OutputBusy(
                f"{self.path.parent}: output folder is in use by {who} (another audit); wait for it or use --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Release the lock (the lock file stays; it is harmless)."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def set_aside_checkpoint(path: Path) -> Path | None:
    """Move an existing checkpoint with finished units aside instead of overwriting it.

    Returns:
        The new path of the old checkpoint, or None when there was nothing worth keeping.
    """
    if not path.exists():
        return None
    try:
        lines = [ln for ln in path.read_text("utf-8", errors="replace").splitlines()[1:] if ln.strip()]
    except OSError:
        lines = ["?"]
    if not lines:
        path.unlink(missing_ok=True)
        return None
    stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    dest = path.with_name(f"{path.stem}.previous-{stamp}-{os.getpid()}{path.suffix}")
    os.replace(path, dest)
    log.warning(
        "%s held %d finished units; kept as %s (started afresh because --resume was not given; "
        "to resume that work, move it back to %s and run with --resume)", path, len(lines), dest.name, path.name,
    )
    return dest


class OutputWriteError(RobustRankError):
    """An output file could not be written (read-only folder, disk full, name too long)."""
