"""Accounts and the anonymous gate: registration, sign-in, every private root field, forged tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from aurum.ids import parse_global_id
from aurum.settings import Settings
from tests.support import GraphQLClient, wait_for

PUBLIC_FIELDS = {
    "accountRegister",
    "tokenCreate",
    "tokenRefresh",
    "tokenRevoke",
    "tokenExchange",
    "passwordResetRequest",
    "passwordReset",
}
PASSWORD = "correct horse battery"

REGISTER = """mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {
  accessToken expiresIn user { id email timezone } userErrors { field message code } } }"""
SIGN_IN = """mutation($input: TokenCreateInput!) { tokenCreate(input: $input) {
  accessToken refreshToken expiresIn user { id email } userErrors { field message code } } }"""


def new_email() -> str:
    return f"auth-{uuid.uuid4().hex[:12]}@example.com"


async def register(client: GraphQLClient, **input: Any) -> dict[str, Any]:
    data = await client.ok(REGISTER, {"input": {"password": PASSWORD, **input}})
    payload: dict[str, Any] = data["accountRegister"]
    return payload


async def sign_in(client: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    data = await client.ok(SIGN_IN, {"input": {"email": email, "password": password}})
    payload: dict[str, Any] = data["tokenCreate"]
    return payload


# --- registration -------------------------------------------------------------------------------------------


async def test_register_signs_in(anonymous: GraphQLClient, http: httpx.AsyncClient) -> None:
    email = new_email()
    payload = await register(anonymous, email=email.upper(), timezone="Europe/Paris")
    assert payload["userErrors"] == []
    assert payload["user"]["email"] == email
    assert payload["user"]["timezone"] == "Europe/Paris"
    assert payload["expiresIn"] > 0
    client = GraphQLClient(http, payload["accessToken"])
    assert (await client.ok("{ viewer { id email } }"))["viewer"] == {
        "id": payload["user"]["id"],
        "email": email,
    }


async def test_registering_is_signing_in(anonymous: GraphQLClient) -> None:
    data = await anonymous.ok(
        "mutation($input: AccountRegisterInput!) { accountRegister(input: $input) { "
        "user { lastLoginAt } userErrors { code } } }",
        {"input": {"email": new_email(), "password": PASSWORD}},
    )
    user = data["accountRegister"]["user"]
    assert user["lastLoginAt"] is not None, data


async def test_register_an_email_taken_in_another_case_is_a_conflict(anonymous: GraphQLClient) -> None:
    email = new_email()
    assert (await register(anonymous, email=email))["userErrors"] == []
    payload = await register(anonymous, email="  " + email.upper(), password="another password 123")
    assert payload["accessToken"] is None
    assert payload["user"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("CONFLICT", ["input", "email"])]
    # The first account is untouched: its password still works, the second one does not.
    assert (await sign_in(anonymous, email, PASSWORD))["userErrors"] == []
    assert (await sign_in(anonymous, email, "another password 123"))["accessToken"] is None


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"password": "short"}, ["input", "password"]),
        ({"password": "123456789"}, ["input", "password"]),
        ({"password": "x" * 257}, ["input", "password"]),
        ({"timezone": "Mars/Olympus_Mons"}, ["input", "timezone"]),
        ({"timezone": ""}, ["input", "timezone"]),
        ({"timezone": "../../etc/passwd"}, ["input", "timezone"]),
        # In the zone directory, but the host's own setting and a rules file, not zones of the world.
        ({"timezone": "localtime"}, ["input", "timezone"]),
        ({"timezone": "posixrules"}, ["input", "timezone"]),
        ({"email": "not-an-email"}, ["input", "email"]),
    ],
)
async def test_register_refuses_bad_input(
    anonymous: GraphQLClient, input: dict[str, Any], field: list[str]
) -> None:
    email = new_email()
    payload = await register(anonymous, **{"email": email, **input})
    assert payload["accessToken"] is None
    assert payload["user"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("BAD_USER_INPUT", field)]
    # Nothing was created: the account cannot sign in.
    assert (await sign_in(anonymous, email, input.get("password", PASSWORD)))["accessToken"] is None


async def test_register_reports_every_bad_field_at_once(anonymous: GraphQLClient) -> None:
    payload = await register(anonymous, email="nope", password="short", timezone="Nowhere/Land")
    fields = sorted(tuple(e["field"]) for e in payload["userErrors"])
    assert fields == [("input", "email"), ("input", "password"), ("input", "timezone")]
    assert {e["code"] for e in payload["userErrors"]} == {"BAD_USER_INPUT"}


# --- sign-in ------------------------------------------------------------------------------------------------


async def test_sign_in_with_the_right_password(anonymous: GraphQLClient, alice: GraphQLClient) -> None:
    payload = await sign_in(anonymous, alice.email.upper(), PASSWORD)
    assert payload["userErrors"] == []
    assert payload["user"] == {"id": alice.user_id, "email": alice.email}
    client = GraphQLClient(anonymous.http, payload["accessToken"])
    assert (await client.ok("{ viewer { id } }"))["viewer"]["id"] == alice.user_id


async def test_wrong_password_and_unknown_email_answer_the_same(
    anonymous: GraphQLClient, alice: GraphQLClient
) -> None:
    wrong_password = await sign_in(anonymous, alice.email, PASSWORD + "!")
    unknown_email = await sign_in(anonymous, new_email(), PASSWORD)
    assert wrong_password == unknown_email
    assert wrong_password["accessToken"] is None
    assert wrong_password["user"] is None
    assert len(wrong_password["userErrors"]) == 1


# --- the anonymous gate, driven by the schema ---------------------------------------------------------------

TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"
INTROSPECTION = f"""{{ __schema {{
  queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }}
  types {{ name kind enumValues {{ name }}
           inputFields {{ name defaultValue type {{ {TYPE_REF} }} }}
           fields {{ name args {{ name defaultValue type {{ {TYPE_REF} }} }}
                     type {{ {TYPE_REF} }} }} }} }} }}"""

SCALAR_SAMPLES: dict[str, Any] = {
    "String": "x",
    "ID": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "Date": "2024-01-01",
    "DateTime": "2024-01-01T00:00:00+00:00",
}


def type_string(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return type_string(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + type_string(ref["ofType"]) + "]"
    return str(ref["name"])


def named(ref: dict[str, Any]) -> dict[str, Any]:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref


def sample(ref: dict[str, Any], types: dict[str, dict[str, Any]]) -> Any:
    """A value of the input type ``ref`` that coerces: required input fields filled in, lists empty."""
    if ref["kind"] == "NON_NULL":
        return sample(ref["ofType"], types)
    if ref["kind"] == "LIST":
        return []
    definition = types[ref["name"]]
    if definition["kind"] == "ENUM":
        return definition["enumValues"][0]["name"]
    if definition["kind"] == "INPUT_OBJECT":
        return {
            f["name"]: sample(f["type"], types)
            for f in definition["inputFields"]
            if f["type"]["kind"] == "NON_NULL" and f["defaultValue"] is None
        }
    return SCALAR_SAMPLES.get(ref["name"], "x")


def operation_for(
    operation: str, field: dict[str, Any], types: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """A valid operation calling ``field`` alone, with its required arguments as variables."""
    required = [a for a in field["args"] if a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None]
    variables = {a["name"]: sample(a["type"], types) for a in required}
    declared = ", ".join(f"${a['name']}: {type_string(a['type'])}" for a in required)
    arguments = ", ".join(f"{a['name']}: ${a['name']}" for a in required)
    result = types[named(field["type"])["name"]]
    selection = " { __typename }" if result["kind"] in {"OBJECT", "INTERFACE", "UNION"} else ""
    header = f"{operation}({declared})" if declared else operation
    call = f"{field['name']}({arguments})" if arguments else field["name"]
    return f"{header} {{ {call}{selection} }}", variables


async def introspect(client: GraphQLClient) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    schema = (await client.ok(INTROSPECTION))["__schema"]
    return schema, {t["name"]: t for t in schema["types"]}


def private_operations(
    schema: dict[str, Any], types: dict[str, dict[str, Any]]
) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for operation, root in (("query", schema["queryType"]), ("mutation", schema["mutationType"])):
        if root is None:
            continue
        for field in types[root["name"]]["fields"]:
            if field["name"] not in PUBLIC_FIELDS:
                query, variables = operation_for(operation, field, types)
                found.append((field["name"], query, variables))
    return found


async def test_anonymous_callers_reach_no_private_root_field(
    anonymous: GraphQLClient, alice: GraphQLClient
) -> None:
    schema, types = await introspect(anonymous)
    operations = private_operations(schema, types)
    names = {name for name, _, _ in operations}
    # The list is the schema's own: it must include what the contract names, so it cannot be silently empty.
    assert {
        "viewer",
        "node",
        "nodes",
        "pillars",
        "tasks",
        "pillarCreate",
        "taskUpdate",
        "tasksReorder",
    } <= names
    for name, query, variables in operations:
        # The same operation reaches the resolver when signed in (the anonymous answer is the gate's doing) …
        signed_in = await alice.execute(query, variables)
        assert "UNAUTHENTICATED" not in str(signed_in), (name, signed_in)
        # … and is refused, with nothing run, when anonymous.
        body = await anonymous.execute(query, variables)
        assert body.get("data") is None, (name, body)
        assert [e.get("extensions", {}).get("code") for e in body["errors"]] == ["UNAUTHENTICATED"], (
            name,
            body,
        )


async def test_anonymous_callers_reach_the_public_mutations(anonymous: GraphQLClient) -> None:
    schema, types = await introspect(anonymous)
    public = [f for f in types[schema["mutationType"]["name"]]["fields"] if f["name"] in PUBLIC_FIELDS]
    assert {f["name"] for f in public} >= {"accountRegister", "tokenCreate"}
    for field in public:
        query, variables = operation_for("mutation", field, types)
        body = await anonymous.execute(query, variables)
        assert "errors" not in body, (field["name"], body)
    assert await anonymous.ok("{ __typename }") == {"__typename": "Query"}


@pytest.mark.parametrize(
    "query",
    [
        "{ __typename viewer { id } }",
        "{ v: __typename ... on Query { viewer { id } } }",
        "{ ...F } fragment F on Query { viewer { id } }",
        "query { __typename ...F } fragment F on Query { ... on Query { pillars { totalCount } } }",
        'mutation { tokenCreate(input: {email: "a@example.com", password: "x"}) { accessToken }'
        ' pillarCreate(input: {name: "Sneaky"}) { pillar { id } } }',
    ],
)
async def test_private_fields_cannot_hide_behind_public_ones(anonymous: GraphQLClient, query: str) -> None:
    body = await anonymous.execute(query)
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_operation_name_picks_what_the_gate_checks(
    anonymous: GraphQLClient, http: httpx.AsyncClient
) -> None:
    document = "query Public { __typename } query Private { viewer { id } }"
    for name, allowed in (("Public", True), ("Private", False)):
        response = await http.post("/graphql", json={"query": document, "operationName": name})
        body = response.json()
        if allowed:
            assert body == {"data": {"__typename": "Query"}}
        else:
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_anonymous_get_requests_are_gated(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": "{ viewer { id } }"})
    assert response.status_code < 500
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


# --- forged tokens ------------------------------------------------------------------------------------------


def claims_for(settings: Settings, user_id: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "sid": str(uuid.uuid4()),
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign(settings: Settings, claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key if key is not None else settings.signing_key, algorithm=algorithm)


def user_uuid(client: GraphQLClient) -> str:
    parsed = parse_global_id(client.user_id)
    assert parsed is not None
    assert parsed[0] == "User"
    return str(parsed[1])


async def test_a_well_made_token_is_accepted(settings: Settings, alice: GraphQLClient) -> None:
    # The control for the forgeries below: the same recipe with nothing wrong works.
    client = GraphQLClient(alice.http, sign(settings, claims_for(settings, user_uuid(alice))))
    assert (await client.ok("{ viewer { id } }"))["viewer"]["id"] == alice.user_id


def forgeries(settings: Settings, user_id: str) -> dict[str, str]:
    now = datetime.now(UTC)
    good = sign(settings, claims_for(settings, user_id))
    header, payload, signature = good.split(".")
    other_payload = sign(settings, claims_for(settings, str(uuid.uuid4()))).split(".")[1]
    return {
        "alg none": jwt.encode(claims_for(settings, user_id), None, algorithm="none"),
        "alg none, no signature dot": ".".join(
            jwt.encode(claims_for(settings, user_id), None, algorithm="none").split(".")[:2]
        ),
        "wrong key": sign(
            settings, claims_for(settings, user_id), key="another-secret-key-that-is-long-enough-000"
        ),
        "other algorithm, right key": sign(settings, claims_for(settings, user_id), algorithm="HS512"),
        "swapped payload": f"{header}.{other_payload}.{signature}",
        "stripped signature": f"{header}.{payload}.",
        "expired": sign(
            settings,
            claims_for(
                settings,
                user_id,
                iat=now - timedelta(hours=2),
                nbf=now - timedelta(hours=2),
                exp=now - timedelta(minutes=1),
            ),
        ),
        "not yet valid": sign(settings, claims_for(settings, user_id, nbf=now + timedelta(hours=1))),
        "wrong issuer": sign(settings, claims_for(settings, user_id, iss="someone-else")),
        "wrong audience": sign(settings, claims_for(settings, user_id, aud="another-api")),
        "no audience": sign(settings, claims_for(settings, user_id, aud=None)),
        "no expiry": sign(settings, claims_for(settings, user_id, exp=None)),
        "refresh type": sign(settings, claims_for(settings, user_id, typ="refresh")),
        "no type": sign(settings, claims_for(settings, user_id, typ=None)),
        "subject not a uuid": sign(settings, claims_for(settings, "alice")),
        # Dates no datetime can hold: refused like any bad token, not a 500.
        "expiry beyond any date": sign(settings, claims_for(settings, user_id, exp=10**20)),
        "issued before any date": sign(settings, claims_for(settings, user_id, iat=-(10**20))),
        "garbage": "garbage",
        "three garbage parts": "a.b.c",
        "empty parts": "..",
    }


async def test_forged_tokens_are_unauthenticated(settings: Settings, alice: GraphQLClient) -> None:
    for name, token in forgeries(settings, user_uuid(alice)).items():
        client = GraphQLClient(alice.http, token)
        body = await client.execute("{ viewer { id } }")
        assert body.get("data") is None, (name, body)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], (name, body)
        payload = await client.execute('mutation { pillarCreate(input: {name: "Forged"}) { pillar { id } } }')
        assert [e["extensions"]["code"] for e in payload["errors"]] == ["UNAUTHENTICATED"], (name, payload)
    assert (await alice.ok("{ pillars { totalCount } }"))["pillars"]["totalCount"] == 0


async def test_a_valid_token_for_a_missing_user_is_unauthenticated(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    client = GraphQLClient(http, sign(settings, claims_for(settings, str(uuid.uuid4()))))
    assert await client.error_codes("{ viewer { id } }") == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token abc", "bearer garbage"])
async def test_odd_authorization_headers_are_unauthenticated(http: httpx.AsyncClient, header: str) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers={"authorization": header}
    )
    assert response.status_code < 500
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


async def test_a_remembered_access_token_still_expires(settings: Settings) -> None:
    """Access tokens are checked once and remembered (aurum.auth.tokens), but never past their expiry."""
    from aurum.auth.tokens import ACCESS, ALGORITHM, read_access_token

    now = datetime.now(UTC)
    claims = {
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=1),
        "jti": uuid.uuid4().hex,
        "typ": ACCESS,
    }
    token = jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)
    read = read_access_token(settings, token)
    assert read is not None
    assert read_access_token(settings, token) is read  # remembered, not checked again
    await wait_for(lambda: read_access_token(settings, token) is None, "the remembered token to expire", 5)
