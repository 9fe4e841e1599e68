"""What accounts accept as input: email addresses in one canonical form, passwords compared as the same
characters however they were typed, the policy against trivial passwords, and registration throttled so it
cannot be used to find out which emails have accounts."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import register
from tests.support import GraphQLClient, uuid_of

PASSWORD = "correct horse battery"
AUTH = "accessToken refreshToken user { id email displayName }"


def new_local(prefix: str = "input") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def full_width(ascii_text: str) -> str:
    """The same text typed with a full-width keyboard layout (FF01–FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in ascii_text)


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def registering(client: GraphQLClient, **input: Any) -> dict[str, Any]:
    return await client.mutate("accountRegister", {"password": PASSWORD, **input}, AUTH)


async def sign_in(client: GraphQLClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    return await client.mutate("tokenCreate", {"email": email, "password": password}, AUTH)


# --- email addresses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "a@b@example.com",
        "x" * 300 + "@example.com",
        "x" * 65 + "@example.com",
        "x@example.com.",
        "..x@example.com",
        "x.@example.com",
        "x..y@example.com",
        "x@-example.com",
        "x@example..com",
        "x@1.2.3.4",
        "x y@example.com",
        "",
    ],
)
async def test_malformed_emails_are_refused_on_the_email_field_alone(
    anonymous: GraphQLClient, email: str
) -> None:
    # No displayName: the name it would default to must not bring an error of its own.
    payload = await registering(anonymous, email=email)
    assert payload["user"] is None, payload
    assert errors(payload) == [("BAD_USER_INPUT", ["input", "email"])], payload


async def test_a_sixty_four_character_local_part_is_fine(anonymous: GraphQLClient) -> None:
    # The control for the refusals above: the longest local part RFC 5321 allows.
    local = new_local().ljust(64, "x")
    payload = await registering(anonymous, email=f"{local}@example.com")
    assert payload["userErrors"] == [], payload
    assert payload["user"]["displayName"] == local


async def test_a_long_display_name_is_reported_on_its_own_field(anonymous: GraphQLClient) -> None:
    payload = await registering(anonymous, email=f"{new_local()}@example.com", displayName="x" * 101)
    assert errors(payload) == [("BAD_USER_INPUT", ["input", "displayName"])], payload


async def test_an_international_domain_is_one_account_in_either_form(anonymous: GraphQLClient) -> None:
    local = new_local()
    first = await registering(anonymous, email=f"{local}@Exämple.com")
    assert first["userErrors"] == [], first
    assert first["user"]["email"] == f"{local}@xn--exmple-cua.com"
    again = await registering(GraphQLClient(anonymous.http), email=f"{local}@xn--exmple-cua.com")
    assert errors(again) == [("CONFLICT", ["input", "email"])], again
    for form in (f"{local}@exämple.com", f"{local.upper()}@XN--EXMPLE-CUA.COM"):
        signed_in = await sign_in(GraphQLClient(anonymous.http), form)
        assert signed_in["userErrors"] == [], (form, signed_in)
        assert signed_in["user"]["id"] == first["user"]["id"]


async def test_a_full_width_email_is_the_same_as_its_ascii_form(anonymous: GraphQLClient) -> None:
    email = f"{new_local()}@example.com"
    first = await registering(anonymous, email=full_width(email.upper()))
    assert first["userErrors"] == [], first
    assert first["user"]["email"] == email
    again = await registering(GraphQLClient(anonymous.http), email=email)
    assert errors(again) == [("CONFLICT", ["input", "email"])], again
    assert (await sign_in(GraphQLClient(anonymous.http), email))["user"]["id"] == first["user"]["id"]


# --- passwords ----------------------------------------------------------------------------------------------

COMPOSED = unicodedata.normalize("NFC", "crème brûlée à noël")
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)


async def test_passwords_are_the_same_however_their_accents_were_composed(http: httpx.AsyncClient) -> None:
    assert COMPOSED != DECOMPOSED  # the control: two different strings for the same characters
    email = f"{new_local('nfd')}@example.com"
    person = GraphQLClient(http)
    registered = await registering(person, email=email, password=DECOMPOSED)
    assert registered["userErrors"] == [], registered
    signed_in = await sign_in(GraphQLClient(http), email, COMPOSED)
    assert signed_in["userErrors"] == [], signed_in

    # Changing it: the current one confirmed in the other form, the new one typed full-width.
    person.token = signed_in["accessToken"]
    changed = await person.mutate(
        "passwordChange", {"currentPassword": DECOMPOSED, "newPassword": full_width("Quiet Harbour 42")}, AUTH
    )
    assert changed["userErrors"] == [], changed
    assert (await sign_in(GraphQLClient(http), email, "Quiet Harbour 42"))["userErrors"] == []

    person.token = changed["accessToken"]
    deleted = await person.mutate(
        "accountDelete", {"password": full_width("Quiet") + " Harbour 42"}, "deletedId"
    )
    assert deleted["userErrors"] == [], deleted


async def test_a_password_hashed_before_normalisation_still_signs_in(
    http: httpx.AsyncClient, owner: AsyncEngine
) -> None:
    person = await register(http)
    async with owner.begin() as connection:
        updated = await connection.execute(
            text("UPDATE users SET password_hash = :hash WHERE id = :id"),
            {"hash": PasswordHasher().hash(DECOMPOSED), "id": uuid_of(person.user_id)},
        )
        assert updated.rowcount == 1
    assert (await sign_in(GraphQLClient(http), person.email, DECOMPOSED))["userErrors"] == []
    assert (await sign_in(GraphQLClient(http), person.email, "not the password"))["accessToken"] is None
    # Signing in hashed it again, normalised: from now on one Argon2 check decides.
    async with owner.connect() as connection:
        stored = await connection.scalar(
            text("SELECT password_hash FROM users WHERE id = :id"), {"id": uuid_of(person.user_id)}
        )
    assert PasswordHasher().verify(stored, unicodedata.normalize("NFKC", DECOMPOSED))
    assert (await sign_in(GraphQLClient(http), person.email, DECOMPOSED))["userErrors"] == []


@pytest.mark.parametrize(
    "password",
    [" " * 10, "\u3000" * 12, "a" * 10, "😀" * 10, "❤️" * 6, "ab" * 6],
    ids=["spaces", "ideographic spaces", "one letter", "one emoji", "emoji with selector", "two letters"],
)
async def test_blank_and_repeated_passwords_are_refused(anonymous: GraphQLClient, password: str) -> None:
    email = f"{new_local('weak')}@example.com"
    payload = await registering(anonymous, email=email, password=password)
    assert payload["user"] is None, payload
    assert errors(payload) == [("BAD_USER_INPUT", ["input", "password"])], payload
    assert (await sign_in(anonymous, email, password))["accessToken"] is None


# --- registration throttling --------------------------------------------------------------------------------


async def test_registration_is_throttled_per_address(http: httpx.AsyncClient) -> None:
    taken = await register(http)
    prober = GraphQLClient(http)
    # Invalid input tells nothing about accounts and uses up no attempt.
    for _ in range(3):
        assert errors(await registering(prober, email=taken.email, password="short")) == [
            ("BAD_USER_INPUT", ["input", "password"])
        ]
    for attempt in range(10):  # taken and free emails alike: each valid attempt counts
        if attempt % 2:
            payload = await registering(prober, email=taken.email)
            assert errors(payload) == [("CONFLICT", ["input", "email"])], (attempt, payload)
        else:
            payload = await registering(prober, email=f"probe-{attempt}-{taken.email}")
            assert payload["userErrors"] == [], (attempt, payload)
    for email in (taken.email, f"{new_local()}@example.com"):
        refused = await registering(prober, email=email)
        assert refused["user"] is None, refused
        assert errors(refused) == [("RATE_LIMITED", ["input", "email"])], refused
        assert "try again in" in refused["userErrors"][0]["message"]
    # Another address registers as usual, and still hears that the email is taken.
    elsewhere = GraphQLClient(http)
    assert (await registering(elsewhere, email=f"{new_local()}@example.com"))["userErrors"] == []
    assert errors(await registering(elsewhere, email=taken.email)) == [("CONFLICT", ["input", "email"])]
