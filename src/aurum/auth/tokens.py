"""Short-lived signed access tokens (JWT, HS256 pinned)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from aurum.settings import Settings

ALGORITHM = "HS256"
ACCESS = "access"


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


def issue_access_token(settings: Settings, user_id: uuid.UUID) -> AccessToken:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "typ": ACCESS,
    }
    token = jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)
    return AccessToken(token=token, expires_in=int(lifetime.total_seconds()))


def read_access_token(settings: Settings, token: str) -> uuid.UUID | None:
    """The user id of a valid access token, else ``None`` (whatever is wrong with it)."""
    try:
        claims = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "jti"]},
        )
        if claims.get("typ") != ACCESS:
            return None
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
