"""Log lines: one format for the whole process, text for a terminal or JSON for a
pipeline (LOG_FORMAT), each carrying the request id of the request it belongs to."""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

# Fields a request's log line adds (app/service.py), in the order they are shown.
REQUEST_FIELDS = ("method", "path", "operation", "status", "duration_ms", "user")


REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
"""The id of the request being served (set by app/service.py), for every log line."""


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        line.update({k: getattr(record, k) for k in REQUEST_FIELDS if hasattr(record, k)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = (
            f"{_timestamp(record)} {record.levelname:<7} {record.name} "
            f"[{getattr(record, 'request_id', '-')}] {record.getMessage()}"
        )
        if hasattr(record, "duration_ms"):
            text += f" {record.duration_ms}ms user={record.user or '-'}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(level: str, log_format: str) -> None:
    """Every logger of the process, uvicorn's included, through one handler."""
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_RequestId())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # app/service.py writes the one line per request; uvicorn's would repeat it.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:], access.propagate = [], False
    # Our request line says what the client got; Connexion's security logger says
    # "Aborting with 401" for an answer that goes out as 403.
    logging.getLogger("connexion.security").setLevel(logging.WARNING)
