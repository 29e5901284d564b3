"""The wire's value error, without the converter: model validators raise it (cheap to
import, so the CLI's read commands need not load cattrs); the converter reports it."""

from __future__ import annotations


class WireValueError(ValueError):
    """A value of the wrong shape; carries the offending token and the accepted forms."""

    def __init__(
        self, message: str, *, token: str | None = None, accepted: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.token = token
        self.accepted = accepted
