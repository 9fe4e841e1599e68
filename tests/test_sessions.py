"""Sessions over GraphQL: refresh rotation and reuse detection, sign-out, password change and reset (with the
reset mail delivered over real SMTP), the email oracle and the password policy (sign-in throttling:
tests/test_sign_in_throttle.py)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import statistics
import time
import uuid
from email.message import EmailMessage
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.ids import parse_global_id
from tests.conftest import SmtpSink, register
from tests.hierarchy import act
from tests.support import GraphQLClient, wait_for

PASSWORD = "correct horse battery"  # what tests.conftest.register signs up with
NEW_PASSWORD = "a fresh new passphrase 42"
AUTH = "accessToken refreshToken expiresIn user { id email }"
RESET_TOKEN = re.compile(r"aurum_reset_[A-Za-z0-9_-]+")
OK = {"ok": True, "userErrors": []}


def new_email(prefix: str = "session") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


def user_uuid(client: GraphQLClient) -> uuid.UUID:
    parsed = parse_global_id(client.user_id)
    assert parsed is not None, client.user_id
    assert parsed[0] == "User", client.user_id
    return uuid.UUID(str(parsed[1]))


async def sign_in(client: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    return await client.mutate("tokenCreate", {"email": email, "password": password}, AUTH)


async def refresh(client: GraphQLClient, refresh_token: str) -> dict[str, Any]:
    return await client.mutate("tokenRefresh", {"refreshToken": refresh_token}, AUTH)


async def revoke(client: GraphQLClient, refresh_token: str) -> dict[str, Any]:
    return await client.mutate("tokenRevoke", {"refreshToken": refresh_token}, "ok")


async def second_session(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> GraphQLClient:
    """Another session of the same account (its own tokenCreate), as a client of its own."""
    client = GraphQLClient(http)
    payload = await sign_in(client, email, password)
    assert payload["userErrors"] == [], payload
    client.token, client.refresh_token, client.email = payload["accessToken"], payload["refreshToken"], email
    client.user_id = payload["user"]["id"]
    return client


async def assert_access_works(http: httpx.AsyncClient, token: str, email: str) -> None:
    data = await GraphQLClient(http, token).ok("{ viewer { email } }")
    assert data["viewer"]["email"] == email


async def assert_access_refused(http: httpx.AsyncClient, token: str) -> None:
    body = await GraphQLClient(http, token).execute("{ viewer { email } }")
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body


async def assert_refresh_refused(client: GraphQLClient, refresh_token: str) -> None:
    payload = await refresh(client, refresh_token)
    assert payload["accessToken"] is None, payload
    assert payload["refreshToken"] is None, payload
    assert payload["user"] is None, payload
    assert errors(payload) == [("UNAUTHENTICATED", ["input", "refreshToken"])], payload


async def assert_signed_in(http: httpx.AsyncClient, payload: dict[str, Any], email: str) -> None:
    assert payload["userErrors"] == [], payload
    assert payload["user"]["email"] == email
    assert payload["refreshToken"].startswith("aurum_rt_")
    await assert_access_works(http, payload["accessToken"], email)


# --- refresh rotation ---------------------------------------------------------------------------------------


async def test_refresh_rotates_both_tokens(http: httpx.AsyncClient, alice: GraphQLClient) -> None:
    first = await refresh(GraphQLClient(http), alice.refresh_token)
    await assert_signed_in(http, first, alice.email)
    assert first["user"]["id"] == alice.user_id
    assert first["expiresIn"] > 0
    assert first["accessToken"] != alice.token
    assert first["refreshToken"] != alice.refresh_token
    # The new refresh token is good for another round …
    second = await refresh(GraphQLClient(http), first["refreshToken"])
    await assert_signed_in(http, second, alice.email)
    assert second["refreshToken"] not in {alice.refresh_token, first["refreshToken"]}
    # … while the one just traded is used up.
    await assert_refresh_refused(GraphQLClient(http), first["refreshToken"])


async def test_reusing_a_refresh_token_ends_its_whole_session(
    http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    other = await second_session(http, alice.email)
    first = await refresh(alice, alice.refresh_token)
    latest = await refresh(alice, first["refreshToken"])
    await assert_signed_in(http, latest, alice.email)  # the control: the family works before the reuse

    # The first refresh token, already used, comes back: a thief or a replay.
    await assert_refresh_refused(GraphQLClient(http), alice.refresh_token)

    # The whole family is over: the newest refresh token and the newest access token are refused …
    await assert_refresh_refused(GraphQLClient(http), latest["refreshToken"])
    await assert_access_refused(http, latest["accessToken"])
    await assert_access_refused(http, first["accessToken"])
    # … but the user's other session is untouched.
    await assert_access_works(http, other.token or "", alice.email)
    await assert_signed_in(http, await refresh(other, other.refresh_token), alice.email)


async def test_two_tabs_refreshing_at_once_stay_signed_in(
    http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    # Both tabs of one browser (the session's own device) send the same refresh token at the same moment.
    answers = await asyncio.gather(refresh(alice, alice.refresh_token), refresh(alice, alice.refresh_token))
    won = [a for a in answers if a["accessToken"] is not None]
    lost = [a for a in answers if a["accessToken"] is None]
    assert len(won) == 1, answers
    assert errors(lost[0]) == [("UNAUTHENTICATED", ["input", "refreshToken"])], answers
    # The session lives on: the old access token, the new one, and the new refresh token all work.
    await assert_access_works(http, alice.token or "", alice.email)
    await assert_signed_in(http, won[0], alice.email)
    await assert_signed_in(http, await refresh(alice, won[0]["refreshToken"]), alice.email)


async def test_a_thief_who_refreshed_first_is_no_concurrent_tab_of_the_owner(
    http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    """The grace is for the device that used the token; the owner presenting it again right after a thief
    refreshed from elsewhere is reuse, and the session ends for both."""
    thief = GraphQLClient(http)
    thief.address = "203.0.113.66"
    stolen = await refresh(thief, alice.refresh_token)
    await assert_signed_in(http, stolen, alice.email)
    await assert_refresh_refused(alice, alice.refresh_token)  # the owner's browser, within the grace
    await assert_access_refused(http, stolen["accessToken"])
    await assert_refresh_refused(thief, stolen["refreshToken"])


async def test_a_used_refresh_token_after_the_grace_ends_the_session(
    http: httpx.AsyncClient, alice: GraphQLClient, owner: AsyncEngine
) -> None:
    first = await refresh(alice, alice.refresh_token)
    await assert_signed_in(http, first, alice.email)
    async with owner.begin() as connection:  # the grace (30 s) is over
        result = await connection.execute(
            text(
                "UPDATE refresh_tokens SET used_at = used_at - interval '1 minute' WHERE token_hash = :hash"
            ),
            {"hash": hashlib.sha256(alice.refresh_token.encode()).digest()},
        )
        assert result.rowcount == 1
    # Presented again, even from the session's own device, it is reuse: the whole session ends.
    await assert_refresh_refused(alice, alice.refresh_token)
    await assert_refresh_refused(GraphQLClient(http), first["refreshToken"])
    await assert_access_refused(http, first["accessToken"])


# --- sign-out -----------------------------------------------------------------------------------------------


async def test_sign_out_ends_the_session(http: httpx.AsyncClient, alice: GraphQLClient) -> None:
    other = await second_session(http, alice.email)
    await assert_access_works(http, alice.token or "", alice.email)
    assert await revoke(GraphQLClient(http), alice.refresh_token) == OK
    await assert_refresh_refused(GraphQLClient(http), alice.refresh_token)
    await assert_access_refused(http, alice.token or "")
    # Only that session ended.
    await assert_access_works(http, other.token or "", alice.email)


@pytest.mark.parametrize("garbage", ["garbage", "aurum_rt_" + "x" * 43, ""])
async def test_sign_out_with_an_unknown_token_answers_the_same(http: httpx.AsyncClient, garbage: str) -> None:
    assert await revoke(GraphQLClient(http), garbage) == OK


# --- password change ----------------------------------------------------------------------------------------

CHANGE = "passwordChange"


async def test_password_change_ends_every_session(http: httpx.AsyncClient, alice: GraphQLClient) -> None:
    other = await second_session(http, alice.email)
    changed = await alice.mutate(CHANGE, {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, AUTH)
    await assert_signed_in(http, changed, alice.email)
    assert changed["refreshToken"] not in {alice.refresh_token, other.refresh_token}

    for old in (alice, other):
        await assert_access_refused(http, old.token or "")
        await assert_refresh_refused(GraphQLClient(http), old.refresh_token)
    # The tokens in the answer are a session of their own, which keeps working (refresh included).
    await assert_access_works(http, changed["accessToken"], alice.email)
    await assert_signed_in(http, await refresh(GraphQLClient(http), changed["refreshToken"]), alice.email)

    stranger = GraphQLClient(http)
    refused = await sign_in(stranger, alice.email, PASSWORD)
    assert refused["accessToken"] is None
    assert errors(refused) == [("BAD_USER_INPUT", ["input", "password"])]
    await assert_signed_in(http, await sign_in(stranger, alice.email, NEW_PASSWORD), alice.email)


async def test_the_new_password_must_differ_from_the_current_one(
    http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    refused = await alice.mutate(CHANGE, {"currentPassword": PASSWORD, "newPassword": PASSWORD}, AUTH)
    assert refused["accessToken"] is None, refused
    assert errors(refused) == [("BAD_USER_INPUT", ["input", "newPassword"])], refused
    await assert_access_works(http, alice.token or "", alice.email)  # nothing was revoked


async def test_password_change_with_a_wrong_current_password_changes_nothing(
    http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    other = await second_session(http, alice.email)
    refused = await alice.mutate(
        CHANGE, {"currentPassword": PASSWORD + "!", "newPassword": NEW_PASSWORD}, AUTH
    )
    assert refused["accessToken"] is None, refused
    assert refused["refreshToken"] is None, refused
    assert errors(refused) == [("BAD_USER_INPUT", ["input", "currentPassword"])]
    for session in (alice, other):
        await assert_access_works(http, session.token or "", alice.email)
        await assert_signed_in(http, await refresh(GraphQLClient(http), session.refresh_token), alice.email)
    stranger = GraphQLClient(http)
    assert (await sign_in(stranger, alice.email, NEW_PASSWORD))["accessToken"] is None
    await assert_signed_in(http, await sign_in(stranger, alice.email, PASSWORD), alice.email)


# --- the email oracle ---------------------------------------------------------------------------------------


async def timed_sign_in(http: httpx.AsyncClient, email: str, password: str) -> tuple[float, dict[str, Any]]:
    client = GraphQLClient(http)  # an address of its own, so no bucket fills up
    started = time.perf_counter()
    payload = await sign_in(client, email, password)
    return time.perf_counter() - started, payload


async def test_unknown_emails_and_wrong_passwords_look_and_take_the_same(http: httpx.AsyncClient) -> None:
    accounts = [await register(http) for _ in range(6)]
    await timed_sign_in(http, accounts[-1].email, "warm up the path")
    unknown_times, known_times, payloads = [], [], []
    for account in accounts[:5]:  # interleaved, so a slow moment of the machine hits both sides
        elapsed, unknown = await timed_sign_in(http, new_email("nobody"), PASSWORD)
        unknown_times.append(elapsed)
        elapsed, known = await timed_sign_in(http, account.email, PASSWORD + " but wrong")
        known_times.append(elapsed)
        payloads += [unknown, known]
    assert all(p == payloads[0] for p in payloads), payloads
    assert payloads[0]["accessToken"] is None
    assert errors(payloads[0]) == [("BAD_USER_INPUT", ["input", "password"])]
    ratio = statistics.median(unknown_times) / statistics.median(known_times)
    assert 0.5 <= ratio <= 2.0, (ratio, unknown_times, known_times)


# --- the password policy ------------------------------------------------------------------------------------


def registering(email: str, password: str) -> dict[str, Any]:
    return {"email": email, "password": password}


@pytest.mark.parametrize(
    "password",
    [
        "password123",
        "iloveyou12",
        "PASSWORD123",
        "{email}",
        "{EMAIL}",
        "123456789",
        "abcdefghi",
        " " * 10,
        "aaaaaaaaaa",
        "😀" * 10,
    ],
)
async def test_weak_passwords_are_refused(http: httpx.AsyncClient, password: str) -> None:
    email = new_email("policy")
    password = password.format(email=email, EMAIL=email.upper())
    client = GraphQLClient(http)
    payload = await client.mutate("accountRegister", registering(email, password), AUTH)
    assert payload["accessToken"] is None, payload
    assert payload["user"] is None, payload
    assert errors(payload) == [("BAD_USER_INPUT", ["input", "password"])], payload
    assert (await sign_in(client, email, password))["accessToken"] is None


async def test_a_ten_character_uncommon_password_is_accepted(http: httpx.AsyncClient) -> None:
    # The control for the refusals above: the policy is not simply refusing everything short.
    email = new_email("policy")
    payload = await GraphQLClient(http).mutate("accountRegister", registering(email, "zq8Lm2xw7k"), AUTH)
    await assert_signed_in(http, payload, email)


# --- password reset over SMTP -------------------------------------------------------------------------------


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, message
    return cast(str, cast(EmailMessage, part).get_content())


async def reset_token(smtp_server: SmtpSink, to: str) -> str:
    message = await smtp_server.wait_for_message(to)
    found: set[str] = set(RESET_TOKEN.findall(plain_text(message)))
    assert len(found) == 1, plain_text(message)
    (token,) = found
    return token


async def request_reset(client: GraphQLClient, email: str) -> dict[str, Any]:
    return await client.mutate("passwordResetRequest", {"email": email}, "ok")


async def reset(client: GraphQLClient, token: str, password: str) -> dict[str, Any]:
    return await client.mutate("passwordReset", {"token": token, "password": password}, AUTH)


async def test_password_reset_by_email(
    http: httpx.AsyncClient, alice: GraphQLClient, smtp_server: SmtpSink
) -> None:
    other = await second_session(http, alice.email)
    anonymous = GraphQLClient(http)
    nobody = new_email("nobody")
    # The same answer whether or not there is an account; the unknown one is asked first, so once the known
    # one's mail has arrived, a mail to the unknown address would have had its chance too.
    assert await request_reset(anonymous, nobody) == OK
    assert await request_reset(anonymous, alice.email.upper()) == OK
    token = await reset_token(smtp_server, alice.email)
    assert smtp_server.received_by(nobody) == []

    done = await reset(anonymous, token, NEW_PASSWORD)
    await assert_signed_in(http, done, alice.email)
    assert done["user"]["id"] == alice.user_id

    for old in (alice, other):
        await assert_access_refused(http, old.token or "")
        await assert_refresh_refused(GraphQLClient(http), old.refresh_token)
    stranger = GraphQLClient(http)
    old_password = await sign_in(stranger, alice.email, PASSWORD)
    assert errors(old_password) == [("BAD_USER_INPUT", ["input", "password"])], old_password
    await assert_signed_in(http, await sign_in(stranger, alice.email, NEW_PASSWORD), alice.email)

    # The token was single-use, and a made-up one is no better.
    for bad in (token, "aurum_reset_" + "x" * 43):
        again = await reset(anonymous, bad, "yet another passphrase 7")
        assert again["accessToken"] is None, again
        assert errors(again) == [("BAD_USER_INPUT", ["input", "token"])], again
    await assert_signed_in(http, await sign_in(stranger, alice.email, NEW_PASSWORD), alice.email)


async def test_an_expired_reset_token_is_refused(
    http: httpx.AsyncClient, alice: GraphQLClient, smtp_server: SmtpSink, owner: AsyncEngine
) -> None:
    assert await request_reset(GraphQLClient(http), alice.email) == OK
    token = await reset_token(smtp_server, alice.email)
    async with owner.begin() as connection:
        result = await connection.execute(
            text(
                "UPDATE password_reset_tokens SET expires_at = now() - interval '1 minute'"
                " WHERE user_id = :user_id"
            ),
            {"user_id": user_uuid(alice)},
        )
        assert result.rowcount == 1

    refused = await reset(GraphQLClient(http), token, NEW_PASSWORD)
    assert refused["accessToken"] is None, refused
    assert errors(refused) == [("BAD_USER_INPUT", ["input", "token"])], refused
    # Nothing changed: the old password and the old session still work.
    await assert_access_works(http, alice.token or "", alice.email)
    stranger = GraphQLClient(http)
    assert (await sign_in(stranger, alice.email, NEW_PASSWORD))["accessToken"] is None
    await assert_signed_in(http, await sign_in(stranger, alice.email, PASSWORD), alice.email)


async def test_a_weak_new_password_does_not_use_up_the_reset_token(
    http: httpx.AsyncClient, alice: GraphQLClient, smtp_server: SmtpSink
) -> None:
    assert await request_reset(GraphQLClient(http), alice.email) == OK
    token = await reset_token(smtp_server, alice.email)
    for weak in ("password123", "short", alice.email):
        refused = await reset(GraphQLClient(http), token, weak)
        assert refused["accessToken"] is None, refused
        assert errors(refused) == [("BAD_USER_INPUT", ["input", "password"])], (weak, refused)
    await assert_access_works(http, alice.token or "", alice.email)  # nothing was revoked either
    await assert_signed_in(http, await reset(GraphQLClient(http), token, NEW_PASSWORD), alice.email)
    await assert_access_refused(http, alice.token or "")


async def reset_tokens(smtp_server: SmtpSink, to: str, count: int) -> list[str]:
    """The tokens of the first ``count`` reset mails to ``to``, waiting for them to arrive."""
    await wait_for(lambda: len(smtp_server.received_by(to)) >= count, f"{count} emails to {to}")
    found = [set(RESET_TOKEN.findall(plain_text(m))) for m in smtp_server.received_by(to)[:count]]
    assert all(len(tokens) == 1 for tokens in found), found
    return [token for tokens in found for token in tokens]


async def assert_reset_refused(client: GraphQLClient, token: str) -> None:
    refused = await reset(client, token, "yet another passphrase 7")
    assert refused["accessToken"] is None, refused
    assert errors(refused) == [("BAD_USER_INPUT", ["input", "token"])], refused


async def test_a_reset_ends_every_other_reset_link(
    http: httpx.AsyncClient, alice: GraphQLClient, smtp_server: SmtpSink
) -> None:
    anonymous = GraphQLClient(http)
    for _ in range(2):
        assert await request_reset(anonymous, alice.email) == OK
    first, second = await reset_tokens(smtp_server, alice.email, 2)
    await assert_signed_in(http, await reset(anonymous, first, NEW_PASSWORD), alice.email)
    await assert_reset_refused(anonymous, second)
    await assert_reset_refused(anonymous, first)
    await assert_signed_in(http, await sign_in(anonymous, alice.email, NEW_PASSWORD), alice.email)


async def test_a_password_change_ends_the_reset_links(
    http: httpx.AsyncClient, alice: GraphQLClient, smtp_server: SmtpSink
) -> None:
    assert await request_reset(GraphQLClient(http), alice.email) == OK
    token = await reset_token(smtp_server, alice.email)
    changed = await alice.mutate(CHANGE, {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, AUTH)
    await assert_signed_in(http, changed, alice.email)
    await assert_reset_refused(GraphQLClient(http), token)
    await assert_signed_in(http, await sign_in(GraphQLClient(http), alice.email, NEW_PASSWORD), alice.email)


async def test_an_email_change_ends_the_reset_links(
    http: httpx.AsyncClient, alice: GraphQLClient, smtp_server: SmtpSink
) -> None:
    assert await request_reset(GraphQLClient(http), alice.email) == OK
    token = await reset_token(smtp_server, alice.email)  # sent to the old address
    moved = new_email("moved")
    changed = await alice.mutate(
        "accountUpdate", {"email": moved, "currentPassword": PASSWORD}, "user { email }"
    )
    assert changed["userErrors"] == [], changed
    await assert_reset_refused(GraphQLClient(http), token)
    await assert_signed_in(http, await sign_in(GraphQLClient(http), moved, PASSWORD), moved)


# --- tokens in the wrong place ------------------------------------------------------------------------------


async def test_a_refresh_token_is_not_an_access_token(http: httpx.AsyncClient, alice: GraphQLClient) -> None:
    await assert_access_works(http, alice.token or "", alice.email)
    await assert_access_refused(http, alice.refresh_token)
    # Refused as a bearer, it was not spent: it still refreshes.
    await assert_signed_in(http, await refresh(GraphQLClient(http), alice.refresh_token), alice.email)


async def test_the_access_token_of_a_signed_out_session_is_refused(
    http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    await assert_access_works(http, alice.token or "", alice.email)
    assert await revoke(GraphQLClient(http), alice.refresh_token) == OK
    await assert_access_refused(http, alice.token or "")
    body = await alice.execute('mutation { pillarCreate(input: {name: "After sign-out"}) { pillar { id } } }')
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body


# ---- devices: list them, sign one out --------------------------------------------------------------------

SESSIONS = "{ sessions { id method userAgent current createdAt lastUsedAt } }"


async def test_a_person_sees_their_devices_and_signs_one_out(
    http: httpx.AsyncClient, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    phone = await second_session(http, alice.email)
    listed = (await alice.ok(SESSIONS))["sessions"]
    assert len(listed) == 2
    assert [s["current"] for s in listed].count(True) == 1
    assert {s["method"] for s in listed} == {"PASSWORD"}
    theirs = next(s["id"] for s in (await phone.ok(SESSIONS))["sessions"] if s["current"])
    assert theirs in {s["id"] for s in listed}

    ended = await act(alice, "sessionRevoke", {"id": theirs}, "revokedId")
    assert ended == {"revokedId": theirs, "userErrors": []}
    await assert_access_refused(http, phone.token or "")
    await assert_refresh_refused(GraphQLClient(http), phone.refresh_token)
    await assert_access_works(http, alice.token or "", alice.email)
    assert [s["current"] for s in (await alice.ok(SESSIONS))["sessions"]] == [True]

    again = await act(alice, "sessionRevoke", {"id": theirs}, "revokedId")
    assert errors(again) == [("NOT_FOUND", ["input", "id"])]
    bobs = (await bob.ok(SESSIONS))["sessions"][0]["id"]
    foreign = await act(alice, "sessionRevoke", {"id": bobs}, "revokedId")
    assert errors(foreign) == [("NOT_FOUND", ["input", "id"])]
    await assert_access_works(http, bob.token or "", bob.email)


async def test_api_keys_cannot_see_or_end_sessions(http: httpx.AsyncClient, alice: GraphQLClient) -> None:
    created = await alice.mutate("apiKeyCreate", {"name": "ci", "scopes": ["WRITE"]}, "secret")
    keyed = GraphQLClient(http, created["secret"])
    assert await keyed.error_codes(SESSIONS) == ["FORBIDDEN"]
    mine = (await alice.ok(SESSIONS))["sessions"][0]["id"]
    refused = await act(keyed, "sessionRevoke", {"id": mine}, "revokedId")
    assert errors(refused) == [("FORBIDDEN", None)]
    await assert_access_works(http, alice.token or "", alice.email)
