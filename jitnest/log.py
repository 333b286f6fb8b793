"""jitnest's log: ``logging.getLogger("jitnest")`` and its children, shown on stderr by default.

A user who configures ``logging`` (a handler on the root logger or on ``"jitnest"``) gets
jitnest's messages through it. Otherwise jitnest adds one handler of its own to its logger, so
that build messages are seen without any set-up, as before: a short ``[jitnest]`` prefix on
stderr. The level comes from the settings (``JITNEST_LOG_LEVEL``; ``JITNEST_QUIET=1`` means
WARNING). Standard library only.
"""

from __future__ import annotations

import logging
import sys

from .config import settings

ROOT_LOGGER = "jitnest"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (notebooks and pytest replace it), at the
    level the settings name at that time."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("[jitnest] %(message)s"))

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.getLevelName(settings().log_level) and super().filter(record)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 -- logging's attribute
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


_handler = _StderrHandler()


def get_logger(name: str) -> logging.Logger:
    """The logger of one jitnest module (``name`` is its ``__name__``), configured on first use."""
    root = logging.getLogger(ROOT_LOGGER)
    if not root.handlers and not logging.getLogger().handlers:
        root.addHandler(_handler)
        root.setLevel(logging.DEBUG)  # the handler filters, by the settings of the moment
        root.propagate = False
    return logging.getLogger(name)
