"""structlog set-up: JSON lines when output is not a terminal, and the fields of the call a line is written in.

Servers call `configure_logging()` once at start. The serving stack (`interceptors.ServingStack`) sets the
call's fields (`CallFields`: request id, state, method) in one context variable, `CALL`, for the duration of a
call; `add_call_fields` puts them, and the trace id, on every line written during the call, so a line a core
logs carries them while a call that writes no line pays for no rendering.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TextIO

import structlog
from prum.services.common.tracing import current_trace_id

_LEVEL = logging.INFO
#: Level names to numbers, read once: `enabled` runs at the end of every call a server serves.
_LEVELS = logging.getLevelNamesMapping()


@dataclass
class CallFields:
    """The fields every line written during a call carries; a request id is made for a call that brought none."""

    request_id: str
    state: str
    method: str

    def as_dict(self) -> dict[str, Any]:
        if not self.request_id:
            self.request_id = str(uuid.uuid4())
        return {"request_id": self.request_id, "state": self.state, "method": self.method}


#: The call this thread (or task) is serving, if any.
CALL: ContextVar[CallFields | None] = ContextVar("prum_call", default=None)


def add_call_fields(logger: Any, name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current call's request id, state, method and trace id on the line (a field the
    line names itself wins)."""
    call = CALL.get()
    if call is not None:
        for key, value in call.as_dict().items():
            event.setdefault(key, value)
        event.setdefault("trace_id", current_trace_id())
    return event


def enabled(level: str) -> bool:
    """Whether lines of `level` are written (the level `configure_logging` set)."""
    return _LEVELS[level.upper()] >= _LEVEL


def configure_logging(level: str = "INFO", stream: TextIO | None = None, json: bool | None = None) -> None:
    """Configure structlog for this process.

    `stream` defaults to stderr; `json` defaults to True unless the stream is a terminal. At DEBUG every call a
    server serves is logged; above it only the calls that fail or are slow.
    """
    global _LEVEL
    _LEVEL = _LEVELS[level.upper()]
    stream = stream or sys.stderr
    if json is None:
        json = not (hasattr(stream, "isatty") and stream.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_call_fields,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVEL),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )


def reset_logging() -> None:
    """structlog's defaults again and the INFO level (for tests that configured logging)."""
    global _LEVEL
    _LEVEL = logging.INFO
    structlog.reset_defaults()


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
