"""The engine's log: plain lines, or one JSON object per line (``edi-engine run --log-format json``)
for log shippers. Secrets never reach it: every secret the engine reads is registered here, and
any log record that would contain one has it masked, whatever code wrote the message."""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import TextIO

MASK = "[secret]"
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> str:
    """Remember ``value`` as a secret to mask in every log record; returns it."""
    if value:
        with _lock:
            _secrets.add(value)
    return value


def masked(text: str) -> str:
    """``text`` with every registered secret replaced by ``MASK`` (longest first)."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class _Masking(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return masked(super().format(record))


class JsonLines(_Masking):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return masked(json.dumps(entry, ensure_ascii=False))


def configure(log_format: str = "text", *, stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Send the engine's log (``edi_engine.*``, and warnings from the libraries) to ``stream``;
    the handler (replacing one an earlier call added)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonLines() if log_format == "json" else _Masking("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_edi_engine", False)]:
        root.removeHandler(old)
    handler._edi_engine = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("edi_engine").setLevel(level)
    return handler
