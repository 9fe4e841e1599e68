"""Google sign-in against a stand-in OpenID provider: a real HTTP server signing real RS256 ID tokens, driven
by a real browser-like client that follows every redirect by hand and keeps cookies."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from aurum.app import build_app
from aurum.auth import service
from aurum.auth.model import User
from aurum.resources import Resources
from aurum.settings import Settings
from tests.conftest import free_port
from tests.support import GraphQLClient, serving

CLIENT_ID = "aurum-test.apps.example.com"
CLIENT_SECRET = "stand-in-client-secret-0123456789abcdef"
APP_URL = "https://app.aurum.test"
STATE_COOKIE = "aurum_google_state"
EXCHANGE = """mutation($input: TokenExchangeInput!) { tokenExchange(input: $input) {
  accessToken refreshToken expiresIn user { id email displayName emailVerifiedAt }
  userErrors { field message code } } }"""


# --- the stand-in provider ----------------------------------------------------------------------------------


@dataclass
class Behaviour:
    """Who signs in at the stand-in and what its ID tokens say; each test sets its own."""

    subject: str
    email: str
    name: str = "Ada Lovelace"
    email_verified: object = True
    claims: dict[str, Any] = field(default_factory=dict)
    age: int = 0
    sign_with_stranger: bool = False
    algorithm: str = "RS256"
    deny: bool = False


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    behaviour: Behaviour


def new_behaviour() -> Behaviour:
    return Behaviour(subject=str(uuid.uuid4().int)[:21], email=f"g-{uuid.uuid4().hex[:12]}@gmail.test")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class StandInProvider:
    """Auto-approving authorize, a token endpoint that checks client, redirect_uri and PKCE, and a JWKS."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.kid = "stand-in-key-1"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.behaviour = new_behaviour()
        self.grants: dict[str, Grant] = {}
        self.authorizations: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]})

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorizations.append(params)
        if (
            params.get("response_type") != "code"
            or params.get("client_id") != CLIENT_ID
            or params.get("code_challenge_method") != "S256"
            or "openid" not in params.get("scope", "").split()
        ):
            return PlainTextResponse("bad authorization request", status_code=400)
        redirect_uri, state = params["redirect_uri"], params["state"]
        if self.behaviour.deny:
            denied = urlencode({"error": "access_denied", "state": state})
            return RedirectResponse(f"{redirect_uri}?{denied}", status_code=302)
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            client_id=params["client_id"],
            redirect_uri=redirect_uri,
            nonce=params["nonce"],
            code_challenge=params["code_challenge"],
            behaviour=dataclasses.replace(self.behaviour, claims=dict(self.behaviour.claims)),
        )
        return RedirectResponse(
            f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302
        )

    async def token(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        self.token_requests.append(form)
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            client_id, secret = unquote_plus(user), unquote_plus(password)
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        grant = self.grants.get(form.get("code", ""))
        if grant is None or grant.redirect_uri != form.get("redirect_uri") or grant.client_id != client_id:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if s256(form.get("code_verifier", "")) != grant.code_challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
        del self.grants[form["code"]]
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "openid email profile",
                "id_token": self.id_token(grant),
            },
            headers={"cache-control": "no-store"},
        )

    def id_token(self, grant: Grant) -> str:
        behaviour = grant.behaviour
        issued = int(time.time()) - behaviour.age
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": behaviour.subject,
            "email": behaviour.email,
            "email_verified": behaviour.email_verified,
            "name": behaviour.name,
            "nonce": grant.nonce,
            "iat": issued,
            "exp": issued + 3600,
        }
        claims.update(behaviour.claims)
        key: Any = self.stranger if behaviour.sign_with_stranger else self.key
        if behaviour.algorithm == "HS256":
            key = CLIENT_SECRET  # the classic confusion: a MAC keyed with something the client knows
        return jwt.encode(claims, key, algorithm=behaviour.algorithm, headers={"kid": self.kid})


# --- servers ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def stand_in(settings: Settings) -> AsyncIterator[StandInProvider]:
    port = free_port()
    provider = StandInProvider(f"http://127.0.0.1:{port}")
    async with serving(provider.app(), settings, port):
        yield provider


@pytest.fixture
def provider(stand_in: StandInProvider) -> StandInProvider:
    """The stand-in, with a new person signing in for this test."""
    stand_in.behaviour = new_behaviour()
    return stand_in


@pytest.fixture(scope="module")
async def server(settings: Settings, resources: Resources, stand_in: StandInProvider) -> AsyncIterator[str]:
    """Our app with Google configured, pointed at the stand-in, on a port of its own."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    configured = settings.model_copy(
        update={
            "google_client_id": CLIENT_ID,
            "google_client_secret": CLIENT_SECRET,
            "google_discovery_url": f"{stand_in.url}/.well-known/openid-configuration",
            "public_url": url,
            "app_url": APP_URL,
        }
    )
    async with serving(
        build_app(configured, dataclasses.replace(resources, settings=configured)), configured, port
    ):
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, headers={"user-agent": "StandInBrowser/1.0"}) as client:
        yield client


@pytest.fixture
async def api(server: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield GraphQLClient(client)


# --- driving a browser --------------------------------------------------------------------------------------


@dataclass
class Journey:
    """Every URL the browser was sent to, the state of the attempt, and where it ended."""

    urls: list[str] = field(default_factory=list)
    state: str = ""
    callback: str = ""
    final: str = ""


async def go(browser: httpx.AsyncClient, url: str, journey: Journey, status: int = 302) -> str:
    journey.urls.append(url)
    response = await browser.get(url)
    assert response.status_code == status, (url, response.status_code, response.text)
    location = response.headers.get("location", "")
    journey.urls.append(location)
    return location


async def begin(browser: httpx.AsyncClient, server: str, redirect: str | None = None) -> Journey:
    """Start at our server and let the stand-in approve: stop before the callback."""
    journey = Journey()
    query = f"?{urlencode({'redirect': redirect})}" if redirect else ""
    authorize = await go(browser, f"{server}/auth/google/start{query}", journey)
    journey.state = parse_qs(urlsplit(authorize).query)["state"][0]
    journey.callback = await go(browser, authorize, journey)
    return journey


async def sign_in(browser: httpx.AsyncClient, server: str, redirect: str | None = None) -> Journey:
    journey = await begin(browser, server, redirect)
    journey.final = await go(browser, journey.callback, journey)
    return journey


def fragment(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).fragment).items()}


def refused_with(journey: Journey, code: str) -> None:
    assert journey.final == f"{APP_URL}/sign-in#error={code}", journey.final


async def exchange(api: GraphQLClient, code: str) -> dict[str, Any]:
    data = await api.ok(EXCHANGE, {"input": {"code": code}})
    payload: dict[str, Any] = data["tokenExchange"]
    return payload


async def signed_in(api: GraphQLClient, journey: Journey) -> dict[str, Any]:
    payload = await exchange(api, fragment(journey.final)["code"])
    assert payload["userErrors"] == [], payload
    return payload


async def account_of(resources: Resources, provider: StandInProvider) -> tuple[Any, Any]:
    """Who, if anyone, owns the behaviour's email and who its Google subject."""
    behaviour = provider.behaviour
    async with resources.sessionmaker() as session, session.begin():
        by_email = await service.user_id_by_email(session, behaviour.email)
        by_google = await session.scalar(select(func.aurum_auth_user_by_google(behaviour.subject)))
    return by_email, by_google


# --- the whole flow -----------------------------------------------------------------------------------------


async def test_sign_in_creates_an_account_and_hands_over_tokens_in_the_fragment(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, api: GraphQLClient
) -> None:
    journey = await sign_in(browser, server, redirect="/today?tab=focus")

    assert journey.final.startswith(f"{APP_URL}/today?tab=focus#code=")
    assert set(fragment(journey.final)) == {"code"}
    payload = await signed_in(api, journey)
    assert payload["user"]["email"] == provider.behaviour.email
    assert payload["user"]["displayName"] == "Ada Lovelace"
    assert payload["expiresIn"] > 0
    for url in journey.urls:  # tokens never travel in a URL, only the one-time code in a fragment
        assert payload["accessToken"] not in url
        assert payload["refreshToken"] not in url
        assert "code=aurum_xc_" not in urlsplit(url).query

    viewer = GraphQLClient(api.http, payload["accessToken"])
    assert (await viewer.ok("{ viewer { email } }"))["viewer"]["email"] == provider.behaviour.email


async def test_the_authorization_request_and_state_cookie(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient
) -> None:
    response = await browser.get(f"{server}/auth/google/start")

    assert response.status_code == 302
    authorize = urlsplit(response.headers["location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{provider.url}/authorize"
    params = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == f"{server}/auth/google/callback"
    assert params["scope"] == "openid email profile"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["nonce"]) >= 32
    assert len(params["state"]) >= 32
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{STATE_COOKIE}={params['state']};")
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/auth/google"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http here; https public URLs get Secure


async def test_signing_in_again_finds_the_same_account(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, api: GraphQLClient
) -> None:
    first = await signed_in(api, await sign_in(browser, server))
    provider.behaviour.email = f"renamed-{uuid.uuid4().hex[:8]}@gmail.test"  # the subject is what counts
    second = await signed_in(api, await sign_in(browser, server))

    assert second["user"]["id"] == first["user"]["id"]
    assert second["accessToken"] != first["accessToken"]


async def register_with(api: GraphQLClient, email: str) -> dict[str, Any]:
    registered = await api.mutate(
        "accountRegister",
        {"email": email.upper(), "password": "correct horse battery"},
        "accessToken refreshToken user { id }",
    )
    assert registered["userErrors"] == []
    return registered


async def password_sign_in(api: GraphQLClient, email: str) -> dict[str, Any]:
    return await api.mutate(
        "tokenCreate", {"email": email, "password": "correct horse battery"}, "user { id }"
    )


async def test_a_proven_password_account_with_the_verified_email_is_linked(
    server: str,
    provider: StandInProvider,
    browser: httpx.AsyncClient,
    api: GraphQLClient,
    resources: Resources,
    owner: AsyncEngine,
) -> None:
    registered = await register_with(api, provider.behaviour.email)
    async with owner.begin() as connection:  # as after a password reset: the email was proven theirs
        await connection.execute(
            update(User).where(User.email == provider.behaviour.email).values(email_verified_at=func.now())
        )

    payload = await signed_in(api, await sign_in(browser, server))

    assert payload["user"]["id"] == registered["user"]["id"]
    by_email, by_google = await account_of(resources, provider)
    assert by_google is not None
    assert by_email == by_google
    assert (await password_sign_in(api, provider.behaviour.email))["user"]["id"] == registered["user"]["id"]
    still = GraphQLClient(api.http, registered["accessToken"])
    assert (await still.ok("{ viewer { id } }"))["viewer"]["id"] == registered["user"]["id"]


async def test_linking_an_unproven_account_shuts_out_whoever_registered_it(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, api: GraphQLClient
) -> None:
    """A squatter registers the victim's email with a password before the victim ever signs in with Google."""
    squatter = await register_with(api, provider.behaviour.email)

    payload = await signed_in(api, await sign_in(browser, server))

    assert payload["user"]["id"] == squatter["user"]["id"]
    assert payload["user"]["emailVerifiedAt"] is not None
    refused = await password_sign_in(api, provider.behaviour.email)
    assert [e["code"] for e in refused["userErrors"]] == ["BAD_USER_INPUT"]
    old_session = GraphQLClient(api.http, squatter["accessToken"])
    assert await old_session.error_codes("{ viewer { id } }") == ["UNAUTHENTICATED"]
    renewed = await api.mutate("tokenRefresh", {"refreshToken": squatter["refreshToken"]}, "accessToken")
    assert [e["code"] for e in renewed["userErrors"]] == ["UNAUTHENTICATED"]
    owner = GraphQLClient(api.http, payload["accessToken"])
    assert (await owner.ok("{ viewer { id } }"))["viewer"]["id"] == squatter["user"]["id"]


async def test_an_email_linked_to_another_google_account_is_not_relinked(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, api: GraphQLClient
) -> None:
    await signed_in(api, await sign_in(browser, server))
    provider.behaviour.subject = str(uuid.uuid4().int)[:21]

    refused_with(await sign_in(browser, server), "account_conflict")


async def test_the_one_time_code_works_once(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, api: GraphQLClient
) -> None:
    code = fragment((await sign_in(browser, server)).final)["code"]

    assert (await exchange(api, code))["userErrors"] == []
    again = await exchange(api, code)
    assert again["accessToken"] is None
    assert again["userErrors"] == [
        {
            "field": ["input", "code"],
            "message": "This sign-in code is not valid or has expired: sign in again",
            "code": "BAD_USER_INPUT",
        }
    ]
    assert (await exchange(api, "aurum_xc_made-up"))["accessToken"] is None


# --- PKCE and state -----------------------------------------------------------------------------------------


async def test_the_stand_in_checks_the_pkce_verifier(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, api: GraphQLClient
) -> None:
    journey = await begin(browser, server)
    code = parse_qs(urlsplit(journey.callback).query)["code"][0]
    attempt = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": f"{server}/auth/google/callback",
    }
    for verifier in ({"code_verifier": "x" * 64}, {}):
        refused = await browser.post(
            f"{provider.url}/token", data={**attempt, **verifier}, auth=(CLIENT_ID, CLIENT_SECRET)
        )
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"

    journey.final = await go(browser, journey.callback, journey)  # our server sends the right one

    await signed_in(api, journey)
    sent = provider.token_requests[-1]
    assert s256(sent["code_verifier"]) == provider.authorizations[-1]["code_challenge"]
    assert "client_secret" not in sent  # sent in the Authorization header, not the form


async def test_a_callback_in_another_browser_is_refused(
    server: str,
    provider: StandInProvider,
    browser: httpx.AsyncClient,
    api: GraphQLClient,
    resources: Resources,
) -> None:
    journey = await begin(browser, server)
    async with httpx.AsyncClient(timeout=30) as other_browser:
        elsewhere = Journey()
        elsewhere.final = await go(other_browser, journey.callback, elsewhere)
    refused_with(elsewhere, "invalid_state")
    assert await account_of(resources, provider) == (None, None)

    journey.final = await go(browser, journey.callback, journey)  # the browser that started can still finish
    await signed_in(api, journey)


async def test_a_state_of_another_attempt_is_refused(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, resources: Resources
) -> None:
    await begin(browser, server)  # this browser's cookie names its own attempt
    async with httpx.AsyncClient(timeout=30) as attacker:
        planted = await begin(attacker, server)

    planted.final = await go(browser, planted.callback, planted)

    refused_with(planted, "invalid_state")
    assert await account_of(resources, provider) == (None, None)


async def test_a_replayed_callback_is_refused(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient
) -> None:
    journey = await sign_in(browser, server)
    assert STATE_COOKIE not in browser.cookies  # cleared by the callback
    browser.cookies.set(STATE_COOKIE, journey.state, domain="127.0.0.1", path="/auth/google")

    replay = Journey()
    replay.final = await go(browser, journey.callback, replay)

    refused_with(replay, "invalid_state")


async def test_a_callback_without_state_or_code_is_refused(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient
) -> None:
    missing_state = Journey()
    missing_state.final = await go(browser, f"{server}/auth/google/callback?code=abc", missing_state)
    refused_with(missing_state, "invalid_state")

    journey = await begin(browser, server)
    journey.final = await go(browser, f"{server}/auth/google/callback?state={journey.state}", journey)
    refused_with(journey, "invalid_request")


# --- ID tokens ----------------------------------------------------------------------------------------------

REFUSED_TOKENS = {
    "wrong audience": ({"claims": {"aud": "someone-else.apps.example.com"}}, "invalid_id_token"),
    "wrong issuer": ({"claims": {"iss": "https://issuer.example"}}, "invalid_id_token"),
    "wrong nonce": ({"claims": {"nonce": "not-the-nonce-we-sent"}}, "invalid_id_token"),
    "no nonce": ({"claims": {"nonce": None}}, "invalid_id_token"),
    "other authorized party": ({"claims": {"azp": "another-client"}}, "invalid_id_token"),
    "expired": ({"age": 2 * 3600}, "invalid_id_token"),
    "issued in the future": ({"age": -3600}, "invalid_id_token"),
    "signed by another key": ({"sign_with_stranger": True}, "invalid_id_token"),
    "HS256 with the client secret": ({"algorithm": "HS256"}, "invalid_id_token"),
    "email not verified": ({"email_verified": False}, "email_not_verified"),
    "email verification unknown": ({"email_verified": None}, "email_not_verified"),
}


@pytest.mark.parametrize(("change", "error"), REFUSED_TOKENS.values(), ids=REFUSED_TOKENS.keys())
async def test_an_id_token_that_fails_verification_is_refused(
    server: str,
    provider: StandInProvider,
    browser: httpx.AsyncClient,
    resources: Resources,
    change: dict[str, Any],
    error: str,
) -> None:
    provider.behaviour = dataclasses.replace(provider.behaviour, **change)

    journey = await sign_in(browser, server)

    refused_with(journey, error)
    assert await account_of(resources, provider) == (None, None)


# --- errors -------------------------------------------------------------------------------------------------


async def test_a_refusal_at_the_provider_comes_back_as_an_error(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, resources: Resources
) -> None:
    provider.behaviour.deny = True
    refused_with(await sign_in(browser, server), "access_denied")

    journey = await begin(browser, server)
    query = urlencode({"error": "temporarily_unavailable", "state": journey.state})
    journey.final = await go(browser, f"{server}/auth/google/callback?{query}", journey)
    refused_with(journey, "provider_error")
    assert await account_of(resources, provider) == (None, None)


@pytest.mark.parametrize("redirect", ["https://evil.example/", "evil.example", "/today#elsewhere", "/a b"])
async def test_the_redirect_must_be_a_path_in_the_app(
    server: str, provider: StandInProvider, browser: httpx.AsyncClient, redirect: str
) -> None:
    response = await browser.get(f"{server}/auth/google/start", params={"redirect": redirect})

    assert response.status_code == 400
    assert STATE_COOKIE not in browser.cookies


async def test_without_google_configured_the_routes_are_not_found(http: httpx.AsyncClient) -> None:
    for path in ("/auth/google/start", "/auth/google/callback?code=a&state=b"):
        response = await http.get(path)
        assert response.status_code == 404
        assert response.text == "Google sign-in is not configured on this server"
