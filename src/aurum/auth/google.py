"""Sign in with Google: OpenID Connect's authorization code flow with PKCE (S256), ``state`` and ``nonce``.

``/auth/google/start`` sends the browser to Google; ``/auth/google/callback`` trades the code for an ID token,
verifies it, finds or creates the account and starts a session. The session's tokens never travel in a URL:
the SPA gets a one-time code in the redirect's fragment and trades it with the ``tokenExchange`` mutation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import authlib.deprecate  # type: ignore[import-untyped]
import httpx
import jwt
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from aurum.auth import service, sessions
from aurum.auth.emails import check_email
from aurum.auth.exchange import hand_off
from aurum.auth.model import User
from aurum.auth.revocation import sessions_ended
from aurum.db import act_as
from aurum.errors import Conflict, InvalidInput
from aurum.resources import Resources
from aurum.settings import Settings

with warnings.catch_warnings():
    # Authlib 1.9 asks for httpx2 and warns on every start when it falls back to httpx, our dependency;
    # its own "always" filter is installed on import, so the module is imported before ours is added.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.common.security import generate_token  # type: ignore[import-untyped]
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError  # type: ignore[import-untyped]

log = structlog.get_logger(__name__)

STATE_COOKIE = "aurum_google_state"
COOKIE_PATH = "/auth/google"
CALLBACK_PATH = "/auth/google/callback"
SCOPE = "openid email profile"
ALGORITHM = "RS256"
FLOW_SECONDS = 10 * 60
DISCOVERY_SECONDS = 60 * 60
CLOCK_SKEW_SECONDS = 30
GOOGLE_ISSUER = "https://accounts.google.com"
NOT_CONFIGURED = "Google sign-in is not configured on this server"


class SignInFailed(Exception):
    """Why a sign-in stopped, as the short code the SPA reads from ``/sign-in#error=<code>``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Provider:
    """The parts of the discovery document we use."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class Flow:
    """What one sign-in attempt must remember between start and callback, kept in Redis only."""

    nonce: str
    code_verifier: str
    redirect: str


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str
    name: str | None


# In-process caches: the discovery document and keys change rarely, and a sign-in should not wait on them.
_providers: dict[str, tuple[float, Provider]] = {}
_key_sets: dict[str, tuple[float, jwt.PyJWKSet]] = {}


def _configured(settings: Settings) -> bool:
    return bool(settings.google_client_id and settings.google_client_secret)


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def _redirect_uri(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + CALLBACK_PATH


def _flow_key(state: str) -> str:
    return "aurum:auth:google:flow:" + hashlib.sha256(state.encode()).hexdigest()


def _app_path(value: str | None) -> str | None:
    """The SPA path to land on after signing in. Prefixed with ``app_url`` it cannot leave the SPA's
    origin; a fragment would clash with ours, and control characters have no place in a URL."""
    if not value:
        return "/"
    if not value.startswith("/") or len(value) > 1000 or "#" in value:
        return None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return None
    return value


def _error_location(settings: Settings, code: str) -> str:
    return f"{settings.app_url.rstrip('/')}/sign-in#error={quote(code)}"


def _redirect(location: str) -> RedirectResponse:
    response = RedirectResponse(location, status_code=302)
    response.headers["cache-control"] = "no-store"
    response.headers["referrer-policy"] = "no-referrer"
    return response


class GoogleClient:
    """Authlib's OAuth 2.0 client with types: the discovery document, the keys, and the code exchange."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._oauth = AsyncOAuth2Client(
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            scope=SCOPE,
            redirect_uri=_redirect_uri(settings),
            code_challenge_method="S256",
            timeout=10.0,
        )

    async def __aenter__(self) -> GoogleClient:
        await self._oauth.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._oauth.__aexit__(kind, error, trace)

    async def _json(self, url: str) -> dict[str, Any]:
        response = await self._oauth.request("GET", url, withhold_token=True)
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return body

    async def provider(self) -> Provider:
        url = self._settings.google_discovery_url
        cached = _providers.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        document = await self._json(url)
        fields = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        values = [document.get(name) for name in fields]
        if not all(isinstance(value, str) and value for value in values):
            raise ValueError("the discovery document lacks an endpoint")
        provider = Provider(*(str(value) for value in values))
        _providers[url] = (time.monotonic() + DISCOVERY_SECONDS, provider)
        return provider

    async def signing_key(self, provider: Provider, kid: str) -> jwt.PyJWK | None:
        """The provider's key ``kid``; an unknown one refetches the set once, as keys rotate."""
        for refresh in (False, True):
            cached = _key_sets.get(provider.jwks_uri)
            if refresh or cached is None or cached[0] <= time.monotonic():
                key_set = jwt.PyJWKSet.from_dict(await self._json(provider.jwks_uri))
                cached = _key_sets[provider.jwks_uri] = (time.monotonic() + DISCOVERY_SECONDS, key_set)
            try:
                return cached[1][kid]
            except KeyError:
                continue
        return None

    def authorization_url(self, provider: Provider, state: str, nonce: str, code_verifier: str) -> str:
        url, _ = self._oauth.create_authorization_url(
            provider.authorization_endpoint, state=state, code_verifier=code_verifier, nonce=nonce
        )
        return str(url)

    async def id_token(self, provider: Provider, code: str, code_verifier: str) -> str:
        """Trade the authorization code (with the PKCE verifier and our client secret) for an ID token."""
        token = await self._oauth.fetch_token(
            provider.token_endpoint,
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
        )
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("invalid_id_token")
        return id_token


async def start(request: Request) -> Response:
    """``GET /auth/google/start?redirect=/path``: remember the attempt and send the browser to Google."""
    resources = _resources(request)
    settings = resources.settings
    if not _configured(settings):
        return PlainTextResponse(NOT_CONFIGURED, status_code=404)
    redirect = _app_path(request.query_params.get("redirect"))
    if redirect is None:
        return PlainTextResponse("redirect must be a path within the app, such as /today", status_code=400)
    state, nonce, code_verifier = str(generate_token(43)), str(generate_token(43)), str(generate_token(64))
    try:
        async with GoogleClient(settings) as client:
            location = client.authorization_url(await client.provider(), state, nonce, code_verifier)
        flow = {"nonce": nonce, "code_verifier": code_verifier, "redirect": redirect}
        await resources.redis.set(_flow_key(state), json.dumps(flow), ex=FLOW_SECONDS)
    except (httpx.HTTPError, ValueError):
        log.warning("google discovery failed", exc_info=True)
        return _redirect(_error_location(settings, "provider_unavailable"))
    except Exception:
        log.exception("google sign-in could not start")
        return _redirect(_error_location(settings, "unavailable"))
    response = _redirect(location)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=FLOW_SECONDS,
        path=COOKIE_PATH,
        secure=settings.public_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


async def callback(request: Request) -> Response:
    """``GET /auth/google/callback?code&state`` (or ``?error``): finish what this browser started."""
    resources = _resources(request)
    settings = resources.settings
    if not _configured(settings):
        return PlainTextResponse(NOT_CONFIGURED, status_code=404)
    try:
        location = await _finish(request, resources)
    except SignInFailed as failure:
        log.info("google sign-in refused", reason=failure.code)
        location = _error_location(settings, failure.code)
    except Exception:
        log.exception("google sign-in failed")
        location = _error_location(settings, "unavailable")
    response = _redirect(location)
    response.delete_cookie(
        STATE_COOKIE,
        path=COOKIE_PATH,
        secure=settings.public_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


async def _take_flow(resources: Resources, state: str) -> Flow | None:
    """The attempt named by ``state``, once: a replayed callback finds nothing."""
    raw = await resources.redis.getdel(_flow_key(state))
    if raw is None:
        return None
    data = json.loads(raw)
    return Flow(nonce=data["nonce"], code_verifier=data["code_verifier"], redirect=data["redirect"])


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def _finish(request: Request, resources: Resources) -> str:
    settings = resources.settings
    params = request.query_params
    state, cookie = params.get("state", ""), request.cookies.get(STATE_COOKIE, "")
    # The cookie binds the state to the browser that started: a callback carried to another one is refused.
    flow = await _take_flow(resources, state) if state and cookie and _same(state, cookie) else None
    if "error" in params:
        raise SignInFailed("access_denied" if params["error"] == "access_denied" else "provider_error")
    if flow is None:
        raise SignInFailed("invalid_state")
    code = params.get("code")
    if not code:
        raise SignInFailed("invalid_request")
    async with GoogleClient(settings) as client:
        try:
            provider = await client.provider()
            id_token = await client.id_token(provider, code, flow.code_verifier)
        except (OAuthError, httpx.HTTPError, ValueError) as error:
            log.warning("google code exchange failed", error=str(error))
            raise SignInFailed("token_exchange_failed") from None
        identity = await _verify(client, provider, settings, id_token, flow.nonce)
    async with resources.sessionmaker() as session, session.begin():
        user, revoked = await _account(session, identity)
        tokens = await sessions.start_session(session, settings, user, "google", sessions.device_of(request))
    await sessions_ended(resources, revoked.session_ids)
    one_time = await hand_off(resources.redis, tokens)
    return f"{settings.app_url.rstrip('/')}{flow.redirect}#code={one_time}"


async def _verify(
    client: GoogleClient, provider: Provider, settings: Settings, id_token: str, nonce: str
) -> Identity:
    """Check the ID token as OpenID Connect asks: RS256 signature by the provider's key, issuer, audience,
    lifetime and our nonce; then insist on a verified email, which is what links accounts."""
    try:
        header = jwt.get_unverified_header(id_token)
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise SignInFailed("invalid_id_token")
        key = await client.signing_key(provider, kid)
        if key is None:
            raise SignInFailed("invalid_id_token")
        issuers = [provider.issuer]
        if provider.issuer == GOOGLE_ISSUER:
            issuers.append("accounts.google.com")  # Google documents its issuer with and without the scheme
        claims = jwt.decode(
            id_token,
            key.key,
            algorithms=[ALGORITHM],
            audience=settings.google_client_id,
            issuer=issuers,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["iss", "aud", "sub", "exp", "iat", "nonce"]},
        )
    except (jwt.PyJWTError, httpx.HTTPError, ValueError) as error:
        log.info("google id token refused", error=str(error))
        raise SignInFailed("invalid_id_token") from None
    subject, email, name = claims.get("sub"), claims.get("email"), claims.get("name")
    if not isinstance(claims["nonce"], str) or not _same(claims["nonce"], nonce):
        raise SignInFailed("invalid_id_token")
    if claims.get("azp", settings.google_client_id) != settings.google_client_id:
        raise SignInFailed("invalid_id_token")
    if not isinstance(subject, str) or not subject or len(subject) > 255 or not isinstance(email, str):
        raise SignInFailed("invalid_id_token")
    if claims.get("email_verified") not in (True, "true"):
        raise SignInFailed("email_not_verified")
    try:
        email = check_email(email, ["email"])
    except InvalidInput:
        raise SignInFailed("invalid_id_token") from None
    return Identity(subject=subject, email=email, name=name if isinstance(name, str) else None)


async def _account(session: AsyncSession, identity: Identity) -> tuple[User, sessions.Revoked]:
    """The account linked to this Google identity; else the one with its verified email, which gets linked;
    else a new account without a password. The transaction then acts as that user.

    Linking an account whose email nobody has proved (registered with a password, never reset) could hand a
    squatter's pre-registered account to the email's real owner with the squatter still signed in: such an
    account loses its password and sessions as it is linked (the owner can set a password by email)."""
    revoked = sessions.Revoked([])
    user_id = await session.scalar(select(func.aurum_auth_user_by_google(identity.subject)))
    if user_id is not None:
        await act_as(session, user_id)
        user = await session.get(User, user_id)
    else:
        user = await service.user_by_email(session, identity.email)
        if user is not None and user.google_subject is not None:
            # The email now belongs to another Google account than the one linked: refuse, don't relink.
            raise SignInFailed("account_conflict")
        if user is not None:
            log.info("google identity linked to an existing account", user_id=str(user.id))
            if user.email_verified_at is None:
                user.password_hash = None
                revoked = await sessions.revoke_all(session, user.id, "unverified account linked to google")
    if user is not None:
        user.google_subject = identity.subject
        user.last_login_at = datetime.now(UTC)
        user.email_verified_at = user.email_verified_at or user.last_login_at
        return user, revoked
    display_name = (identity.name or "").strip()[:100] or identity.email.partition("@")[0][:100]
    try:
        user = await service.create_user(
            session,
            email=identity.email,
            password_hash=None,
            display_name=display_name,
            timezone="UTC",
            google_subject=identity.subject,
            email_verified_at=datetime.now(UTC),
        )
    except Conflict:
        raise SignInFailed("account_conflict") from None
    user.last_login_at = datetime.now(UTC)
    return user, revoked
