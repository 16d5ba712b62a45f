"""Domain errors: what a use case raises when it will not do what was asked.

Each carries ``message``, a short Chinese sentence for the person that says what to do next.
Entry points render it (a chat reply, a JSON error, a console flash, a CLI line); they never
write their own wording for the same refusal. Raising one inside a unit of work means nothing
of that unit is kept: the caller rolls the transaction back.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class. ``field`` names the input at fault, when there is one (API, forms)."""

    status = 400  # what an HTTP entry point answers

    def __init__(self, message: str, *, field: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail


class Invalid(DomainError):
    """The input breaks a rule (a past deadline, an unknown village, an empty submission)."""


class Refused(DomainError):
    """Role or scope does not allow it. An unknown id, a foreign id and a malformed id get the
    same refusal, so replies cannot be used to probe what exists elsewhere."""

    status = 403


class NotFound(DomainError):
    """Nothing with that id in the person's own scope (HTTP entry points answer 404)."""

    status = 404


class Conflict(DomainError):
    """The thing is no longer in a state that allows this (a cancelled task, an approved item)."""

    status = 409
