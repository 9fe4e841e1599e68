"""Short-lived signed access tokens and long-lived device tokens (JWT, HS256 pinned), and the opaque secrets
behind everything else."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from aurum.auth.emails import normalize_email
from aurum.settings import Settings

ALGORITHM = "HS256"
ACCESS = "access"
DEVICE = "device"
# A device that signs in to an account at least this often stays known to it (every sign-in and refresh
# hands it a new device token).
DEVICE_TOKEN_LIFETIME = timedelta(days=365)


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime


def issue_access_token(settings: Settings, user_id: uuid.UUID, session_id: uuid.UUID) -> AccessToken:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
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


KNOWN_TOKENS = 10_000  # access tokens whose signature was checked, remembered until they expire
_known: dict[tuple[str, str, str, str], AccessClaims] = {}


def read_access_token(settings: Settings, token: str) -> AccessClaims | None:
    """The claims of a valid access token, else ``None`` (whatever is wrong with it). A token checked once
    is remembered until it expires: checking its signature and claims again cost a fifth of a small read."""
    key = (token, settings.signing_key, settings.token_issuer, settings.token_audience)
    known = _known.get(key)
    if known is not None:
        if known.expires_at > datetime.now(UTC):
            return known
        del _known[key]
    claims = _read(settings, token)
    if claims is not None:
        if len(_known) >= KNOWN_TOKENS:
            _known.clear()
        _known[key] = claims
    return claims


def _read(settings: Settings, token: str) -> AccessClaims | None:
    claims = _decoded(settings, token, ["exp", "iat", "nbf", "sub", "sid", "iss", "aud", "jti"])
    if claims is None or claims.get("typ") != ACCESS:
        return None
    try:
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (ValueError, TypeError, KeyError, OverflowError, OSError):
        # OverflowError, OSError: a date beyond what datetime or the platform can hold (exp=10**20).
        return None


def _decoded(settings: Settings, token: str, required: list[str]) -> dict[str, Any] | None:
    """The claims of a token we signed, current and meant for us, else ``None``."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            options={"require": required},
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError):
        return None
    return claims


def issue_device_token(settings: Settings, email: str) -> str:
    """Proof that this device signed in to the account of ``email``: it keeps it after signing out, and
    sign-ins that carry it are throttled on their own (aurum.auth.throttle). It grants nothing else."""
    now = datetime.now(UTC)
    claims = {
        "sub": _device_account(settings, email),
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "iat": now,
        "exp": now + DEVICE_TOKEN_LIFETIME,
        "jti": uuid.uuid4().hex,
        "typ": DEVICE,
    }
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)


def read_device_token(settings: Settings, token: str, email: str) -> str | None:
    """The device's id, if ``token`` is a valid device token of the account of ``email``; else ``None``."""
    claims = _decoded(settings, token, ["exp", "iat", "sub", "iss", "aud", "jti"])
    if claims is None or claims.get("typ") != DEVICE or not isinstance(claims.get("jti"), str):
        return None
    if not hmac.compare_digest(str(claims["sub"]), _device_account(settings, email)):
        return None
    return str(claims["jti"])[:64]


def _device_account(settings: Settings, email: str) -> str:
    """Which account a device token is for, without a database lookup (the throttle runs before one) and
    without showing the email: a keyed hash of its normal form."""
    key = settings.signing_key.encode()
    return hmac.new(key, b"device:" + normalize_email(email).encode(), hashlib.sha256).hexdigest()[:32]


def new_secret(prefix: str, nbytes: int = 32) -> str:
    """A random secret with a recognisable prefix, such as ``art_…`` for refresh tokens."""
    return prefix + secrets.token_urlsafe(nbytes)


def digest(secret: str) -> bytes:
    """What we store instead of a secret: high-entropy secrets need a fast hash, not a password hash."""
    return hashlib.sha256(secret.encode()).digest()
