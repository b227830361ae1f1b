"""Progress of long loops: one bar per step (units done / total, rate, ETA), or JSON lines.

``mode`` is ``bar`` (tqdm on stderr), ``json`` (one log record per update on the
``robustrank.progress`` logger carrying a ``progress`` dict: task, step, done, total, rate per
second, ETA in seconds, elapsed; at most one every ``every_s`` seconds plus the first and the
last; ``robustrank --log-json`` formats every log record as a JSON line) or ``off``.
The same reporter serves every backend: units count when their result reaches the driver.
"""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["Progress", "ProgressBar"]

log = logging.getLogger("robustrank.progress")


class ProgressBar:
    """One step's counter; use :meth:`update` as units finish and :meth:`close` at the end."""

    def __init__(self, mode: str, task: str, step: str, total: int, every_s: float = 2.0):
        self.mode, self.task, self.step, self.total, self.every_s = mode, task, step, total, every_s
        self.done = 0
        self._t0 = self._last = time.monotonic()
        self._bar: Any = None
        if mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=f"{task} {step}".strip(), unit="unit", leave=False)
        elif mode == "json":
            self._emit(force=True)

    def record(self) -> dict[str, Any]:
        """The current state: task, step, done, total, rate (units/s), eta_s, elapsed_s."""
        elapsed = time.monotonic() - self._t0
        rate = self.done / elapsed if elapsed > 0 and self.done else None
        eta = (self.total - self.done) / rate if rate else None
        return {"task": self.task, "step": self.step, "done": self.done, "total": self.total,
                "rate": round(rate, 4) if rate else None, "eta_s": round(eta, 1) if eta is not None else None,
                "elapsed_s": round(elapsed, 1)}

    def _emit(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self.every_s:
            self._last = now
            rec = self.record()
            log.info("%s %s: %d/%d", self.task, self.step, rec["done"], rec["total"], extra={"progress": rec})

    def update(self, n: int = 1) -> None:
        """``n`` more units finished."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "json":
            self._emit(force=self.done >= self.total)

    def close(self) -> None:
        """End the step (closes the bar)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Progress:
    """Makes :class:`ProgressBar` objects in one mode (``bar``, ``json`` or ``off``)."""

    def __init__(self, mode: str = "bar"):
        if mode not in ("bar", "json", "off"):
            raise ValueError(f"progress mode must be bar, json or off, not {mode!r}")
        self.mode = mode

    def bar(self, task: str, step: str, total: int) -> ProgressBar:
        """A counter for ``total`` units of ``step`` in ``task``."""
        return ProgressBar(self.mode, task, step, total)
