"""Expected failures of the domain. Services raise these; the GraphQL layer turns them into answers."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    UNAUTHENTICATED = "UNAUTHENTICATED"


class DomainError(Exception):
    """An expected failure with a stable code and, where it applies, the input field at fault."""

    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def __init__(
        self, message: str, field: Sequence[str] | None = None, code: ErrorCode | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = list(field) if field is not None else None
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = ErrorCode.BAD_USER_INPUT


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED


class DomainErrors(Exception):
    """Several independent validation failures found at once, reported together."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)
