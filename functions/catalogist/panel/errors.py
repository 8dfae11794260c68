"""What the panel answers when a request cannot be served: one small tree, apart from the
pipelines' retry policy (`catalogist.errors`). The message is shown to the reviewer as it is."""

from __future__ import annotations

from typing import Any


class PanelError(Exception):
    """A request the panel refuses, with the HTTP status and anything the page script reads."""

    status = 400

    def __init__(self, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.extra = extra


class BadRequest(PanelError):
    """The request itself is wrong: a malformed id, number or body, a category outside the trees."""


class NotFound(PanelError):
    status = 404


class Conflict(PanelError):
    """The request was fine but the product (or the amount) asks for another look."""

    status = 409
