"""Winnow's exceptions: one root, a short tree, each class knowing its HTTP status and exit code.

::

    WinnowError                      internal error          HTTP 500  exit 70
    ├── ConfigError                  bad settings            HTTP 500  exit 5
    │   ├── PolicyError              invalid policy          HTTP 422  exit 5
    │   └── IndexFileError           unreadable hash index   HTTP 500  exit 5
    ├── BankError                    bad hash-bank request   HTTP 422  exit 2
    │   └── BankNotFoundError        no such bank or entry   HTTP 404  exit 2
    ├── ContentError                 input cannot be scanned HTTP 422  exit 4
    │   ├── UnsupportedMediaError    type not handled        HTTP 415  exit 4
    │   ├── DecodeError              bytes do not decode     HTTP 422  exit 4
    │   └── LimitExceededError       a limit was broken      HTTP 413  exit 4
    ├── DetectorError                a detector failed       HTTP 500  exit 70
    │   └── DetectorTimeoutError     ran past its budget     HTTP 504  exit 70
    └── StorageError                 database unavailable    HTTP 503  exit 6

The status and exit code live on the classes and nowhere else; the API and CLI ask
:func:`http_status` and :func:`exit_code`. A detector that fails during a scan does not raise out of
the engine: it is recorded in the verdict, and the policy decides what that means.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the ``winnow`` command."""

    OK = 0  # every item passed
    REVIEW = 1  # at least one item needs review, none is blocked
    USAGE = 2  # the command line was wrong (click's own code)
    BLOCK = 3  # at least one item is blocked
    CONTENT = 4  # at least one item could not be scanned (the others were)
    CONFIG = 5  # settings or policy are invalid
    STORAGE = 6  # the database could not be reached
    INTERNAL = 70  # a bug in Winnow (EX_SOFTWARE)


class WinnowError(Exception):
    """Root of every error Winnow raises on purpose."""

    http_status: int = 500
    exit_code: ExitCode = ExitCode.INTERNAL
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(WinnowError):
    """Settings or a configuration file are invalid."""

    exit_code = ExitCode.CONFIG
    code = "config_error"


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One problem found in a policy file, located as precisely as the file allows."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        at = f" at {self.path}" if self.path else ""
        return f"{where}: {self.message}{at}"


class PolicyError(ConfigError):
    """A policy failed validation. ``problems`` lists every problem, each with its location."""

    http_status = 422
    code = "invalid_policy"

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"policy has {len(problems)} problem(s):\n{lines}")


class IndexFileError(ConfigError):
    """A saved hash index that is not one, is truncated, or was written by another version."""

    code = "index_file_invalid"


class BankError(WinnowError):
    """A hash-bank request that cannot be done as asked (bad name, kind, hash or setting)."""

    http_status = 422
    exit_code = ExitCode.USAGE
    code = "invalid_bank_request"


class BankNotFoundError(BankError):
    """No bank (or entry) of that name for this tenant."""

    http_status = 404
    code = "bank_not_found"


class ContentError(WinnowError):
    """The content sent cannot be scanned as it is."""

    http_status = 422
    exit_code = ExitCode.CONTENT
    code = "invalid_content"


class UnsupportedMediaError(ContentError):
    """The content's type (sniffed from its bytes) is not one this install handles."""

    http_status = 415
    code = "unsupported_media"


class DecodeError(ContentError):
    """The bytes do not decode as the type they claim or appear to be."""

    code = "decode_error"


class LimitExceededError(ContentError):
    """The content breaks a configured limit; the message names the limit and its value."""

    http_status = 413
    code = "limit_exceeded"

    def __init__(self, limit: str, value: int, maximum: int, unit: str = "") -> None:
        self.limit = limit
        self.value = value
        self.maximum = maximum
        suffix = f" {unit}" if unit else ""
        super().__init__(
            f"{limit} is {value:,}{suffix}, over the limit of {maximum:,}{suffix} "
            f"(setting: {limit})"
        )


class DetectorError(WinnowError):
    """A detector failed. Inside a scan this becomes a recorded failure, not an exception."""

    code = "detector_error"


class DetectorTimeoutError(DetectorError):
    """A detector ran past its time budget."""

    http_status = 504
    code = "detector_timeout"


class StorageError(WinnowError):
    """The store could not be reached or refused the operation."""

    http_status = 503
    exit_code = ExitCode.STORAGE
    code = "storage_error"


def http_status(error: BaseException) -> int:
    """The HTTP status an error maps to (500 for anything that is not a WinnowError)."""
    return error.http_status if isinstance(error, WinnowError) else 500


def exit_code(error: BaseException) -> ExitCode:
    """The CLI exit code an error maps to."""
    return error.exit_code if isinstance(error, WinnowError) else ExitCode.INTERNAL
