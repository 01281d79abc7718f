"""The exception hierarchy of shipwheel.

Every error a user can cause or fix derives from :class:`ShipwheelError`. Each class carries the process exit
code the command line uses for it, and each instance a one-line message (what is wrong) and a hint (how to fix
it). The command line prints ``error: <message>; <hint>`` and exits with the code; it shows a traceback only with
``--debug``. Exit codes are documented in the README and stay stable across releases.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BuildError",
    "CommandError",
    "ConfigError",
    "ConflictError",
    "EnvironmentNotReadyError",
    "ProjectError",
    "RemoteError",
    "SelectorError",
    "ShipwheelError",
    "UsageError",
    "VerificationError",
]


class ShipwheelError(Exception):
    """Root of every error shipwheel raises on purpose.

    :param message: what is wrong, one line, no trailing period.
    :param hint: what the user can do about it, one imperative sentence.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = " ".join(message.split())
        self.hint = " ".join(hint.split())

    def one_line(self) -> str:
        """The message and the hint as the single line the CLI prints."""
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(ShipwheelError):
    """The command line itself is wrong (exit 2, like argparse)."""

    exit_code = 2


class SelectorError(UsageError):
    """A build selector or identifier does not parse."""


class ConfigError(ShipwheelError):
    """The ``[tool.shipwheel]`` table, an environment override or a packaged default is invalid (exit 3)."""

    exit_code = 3


class ProjectError(ShipwheelError):
    """The project cannot be used as given: no pyproject.toml, an unknown git ref, a dirty tree (exit 4)."""

    exit_code = 4


class EnvironmentNotReadyError(ShipwheelError):
    """This machine lacks something the command needs: an interpreter, a tool, a key (exit 5)."""

    exit_code = 5


class RemoteError(ShipwheelError):
    """A server or container could not be reached or answered with an error (exit 6)."""

    exit_code = 6


class AuthenticationError(RemoteError):
    """A server refused the credentials (exit 7)."""

    exit_code = 7


class ConflictError(ShipwheelError):
    """The target already holds something different under the same name (exit 8)."""

    exit_code = 8


class CommandError(ShipwheelError):
    """An external command failed; ``output`` keeps the tail of what it printed (exit 1)."""

    def __init__(self, message: str, *, hint: str = "", output: str = "", log: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output
        self.log = log


class BuildError(ShipwheelError):
    """One or more build identifiers failed; the others finished (exit 1)."""


class VerificationError(ShipwheelError):
    """Release files have problems that must be fixed before they are published (exit 1)."""


#: Exit codes by meaning, for the README and for callers that script shipwheel.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "the work failed: a build, a check, an upload (details in the summary)",
    2: "the command line is wrong (unknown option, bad selector)",
    3: "the configuration is invalid (pyproject.toml [tool.shipwheel], SHIPWHEEL_* variables)",
    4: "the project cannot be used as given (no pyproject.toml, unknown ref, dirty tree)",
    5: "this machine lacks something (an interpreter, a tool, a key)",
    6: "a server or container could not be reached or answered with an error",
    7: "a server refused the credentials",
    8: "the target already holds a different file under the same name",
    130: "interrupted",
}
__all__ += ["EXIT_CODES"]


class TransferError(RemoteError):
    """Reading or writing one file or page failed; ``retryable`` says whether trying again may help (exit 6).

    Here rather than in the staging package because the one simple-index parser and the HTTP plumbing, which sit
    below staging, raise it too."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


__all__ += ["TransferError"]
