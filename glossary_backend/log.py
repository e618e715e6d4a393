"""Console logging: a refused request is one line, not a traceback."""

import logging


class RefusalsOnOneLine(logging.Filter):
    """Drops the traceback that Django attaches to the log record of a request it refused
    (403 permission denied, 404, 429 and every other status below 500): the line names
    the status and the path; only server errors keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
