"""Errors that end a command, each carrying the exit code the CLI contract promises."""

from __future__ import annotations

# Exit codes (README, "CLI conventions"): 0 ok / compliant, 1 findings or a failed
# operation, 2 usage or validation error, 3 some target could not be reached.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class MzopsError(Exception):
    """An error reported to the user as one line, with a fixed exit code."""

    exit_code = EXIT_FINDINGS

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(MzopsError):
    """Bad input: a file, key or argument the user must fix (exit 2)."""

    exit_code = EXIT_USAGE


class OperationFailed(MzopsError):
    """An operation that ran and failed (exit 1)."""

    exit_code = EXIT_FINDINGS
