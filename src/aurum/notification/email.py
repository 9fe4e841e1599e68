"""The emails of notifications: composed here, sent through the ``send_email`` job."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aurum.resources import Resources


def compose(title: str, body: str, app_url: str) -> tuple[str, str]:
    """The subject and plain text of a notification's email."""
    text = f"{body}\n\nOpen Aurum Life: {app_url.rstrip('/')}/\n\n"
    text += "You get this because email notifications are on; change that in your notification preferences.\n"
    return title, text


async def send(resources: Resources, to: str, rows: Sequence[Any]) -> int:
    """Queue one email per notification row (``title`` and ``body``)."""
    for row in rows:
        subject, text = compose(row.title, row.body, resources.settings.app_url)
        await resources.jobs.enqueue("send_email", to, subject, text)
    return len(rows)
