"""Structured logs (JSON in production) carrying the request id of whatever is being done."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

from aurum.db import BACKGROUND
from aurum.settings import Settings

SENSITIVE_KEY = re.compile(r"pass|secret|token|authorization|cookie|credential|api_?key", re.IGNORECASE)
SECRET_VALUE = re.compile(
    r"aurum_(?:rt|key|reset)_[A-Za-z0-9_-]+"  # our opaque secrets
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]+"  # JWTs
    r"|(?i:bearer)\s+\S+"
)
REDACTED = "[redacted]"


def _scrub(key: str, value: Any) -> Any:
    if SENSITIVE_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return SECRET_VALUE.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: _scrub(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(key, v) for v in value]
    return value


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Credentials never reach a log: by the name of a field, or by the look of a value, at any depth."""
    for key, value in event.items():
        event[key] = _scrub(key, value)
    return event


class AccessLogRedaction(logging.Filter):
    """Access logs keep the path but not the query string, which may carry a code, a token or variables."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            address, method, path, version, status = record.args
            if isinstance(path, str) and "?" in path:
                record.args = (address, method, path.split("?", 1)[0] + "?" + REDACTED, version, status)
        return True


def background(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Name the background work (a job, an after-commit follow-up) a line comes from."""
    kind = BACKGROUND.get()
    if kind is not None:
        event.setdefault("background", kind)
    return event


def configure_logging(settings: Settings) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    level = getattr(logging, settings.log_level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            background,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, format="%(message)s")
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedaction) for f in access.filters):
        access.addFilter(AccessLogRedaction())
