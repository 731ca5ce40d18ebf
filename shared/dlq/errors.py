"""The one error the command line turns into a one-line message and exit code 2."""

from __future__ import annotations

from shared.errors import CustomerOrderEventsError


class DlqError(CustomerOrderEventsError):
    """The command cannot run as asked: bad input, an unknown order, or Pub/Sub unreachable."""


def one_line(exc: BaseException, *, limit: int = 300) -> str:
    """An exception as a single line of bounded length, for an operator's terminal."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` on one line, or just the type when the message is empty."""
    name = type(exc).__name__
    text = one_line(exc)
    return name if text == name else f"{name}: {text}"
