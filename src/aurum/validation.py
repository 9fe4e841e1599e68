"""Small checks shared by every domain; each raises ``InvalidInput`` naming the field."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any, TypeVar

from aurum.errors import DomainError, DomainErrors, InvalidInput

T = TypeVar("T")
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# Explicit embeddings, overrides and isolates reorder the text shown around them (a name could pass for
# another); they are invisible format characters that no name needs, unlike the joiners of emoji.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def single_line(value: str, field: Sequence[str]) -> str:
    """Refuse control characters (bell, escape, line breaks …) and text-direction overrides in a one-line
    text; ``value`` is returned unchanged."""
    if any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in value):
        raise InvalidInput(
            f"'{field[-1]}' must not contain control characters or text-direction overrides", field
        )
    return value


def invisible(value: str) -> bool:
    """Whether nothing of ``value`` would show: only whitespace and format characters (zero-width space,
    byte order mark …)."""
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in value)


def text_length(value: str, field: Sequence[str], minimum: int = 1, maximum: int = 200) -> str:
    """A one-line text, trimmed, of ``minimum`` to ``maximum`` characters; an invisible one is empty."""
    stripped = single_line(value.strip(), field)
    if minimum and invisible(stripped):
        stripped = ""
    if not minimum <= len(stripped) <= maximum:
        what = "is required" if not stripped and minimum else f"must have {minimum} to {maximum} characters"
        raise InvalidInput(f"'{field[-1]}' {what}", field)
    return stripped


def optional_text(value: str | None, field: Sequence[str], maximum: int) -> str | None:
    if value is None:
        return None
    if len(value) > maximum:
        raise InvalidInput(f"'{field[-1]}' must have at most {maximum} characters", field)
    return value


def short_text(value: str, field: Sequence[str], maximum: int) -> str:
    """An optional one-line text (an icon …): at most ``maximum`` characters, no control characters."""
    if len(value) > maximum:
        raise InvalidInput(f"'{field[-1]}' must have at most {maximum} characters", field)
    return single_line(value, field)


def int_range(value: int, field: Sequence[str], minimum: int, maximum: int) -> int:
    if not minimum <= value <= maximum:
        raise InvalidInput(f"'{field[-1]}' must be between {minimum} and {maximum}", field)
    return value


def color(value: str | None, field: Sequence[str]) -> str | None:
    if value is not None and not COLOR.match(value):
        raise InvalidInput(f"'{field[-1]}' must be a hex color such as '#4f46e5'", field)
    return value


class Checks:
    """Collects every failing check of one input so the client hears of all of them at once."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def run(self, check: object) -> None:
        """Record the error raised by ``check`` (a zero-argument callable)."""
        try:
            check()  # type: ignore[operator]
        except DomainErrors as many:
            self.errors.extend(many.errors)
        except DomainError as error:
            self.errors.append(error)

    def raise_any(self) -> None:
        if self.errors:
            raise DomainErrors(self.errors) if len(self.errors) > 1 else self.errors[0]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def required(check: Any) -> Any:
    """Wrap a check so that null is refused instead of passed on."""

    def run(value: Any, field: list[str]) -> Any:
        if value is None:
            raise InvalidInput(f"'{field[-1]}' cannot be null", field)
        return check(value, field)

    return run


def nullable(check: Any) -> Any:
    def run(value: Any, field: list[str]) -> Any:
        return None if value is None else check(value, field)

    return run


def validate_fields(values: dict[str, Any], checks: dict[str, Any]) -> dict[str, Any]:
    """Check every given field, reporting all failures together; return the cleaned values."""
    cleaned: dict[str, Any] = {}
    collected = Checks()
    for name, value in values.items():
        check = checks.get(name)
        field = ["input", camel(name)]

        def run(check: Any = check, value: Any = value, field: list[str] = field, name: str = name) -> None:
            cleaned[name] = value if check is None else check(value, field)

        collected.run(run)
    collected.raise_any()
    return cleaned


NAME = required(lambda v, f: text_length(v, f, 1, 200))
LONG_TEXT = nullable(lambda v, f: optional_text(v, f, 10_000))
ICON = nullable(lambda v, f: short_text(v, f, 64))
COLOR_CHECK = nullable(color)
NOT_NULL = required(lambda v, f: v)
"""For a field whose column cannot be null and that needs no other check (an enum, a flag)."""
SORT_ORDER = required(lambda v, f: int_range(v, f, -1_000_000, 1_000_000))
IMPORTANCE = required(lambda v, f: int_range(v, f, 1, 5))
