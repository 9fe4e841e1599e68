"""Real engines for the whole suite: PostgreSQL and Redis (embedded, or from AURUM_TEST_*_URL) and a real
uvicorn server on loopback, spoken to over HTTP."""

from __future__ import annotations

import email
import email.policy
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from functools import partial
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aurum.app import build_app
from aurum.embedded import start_postgres, start_redis, stop_postgres, stop_redis
from aurum.migrate import upgrade
from aurum.resources import Resources, open_resources
from aurum.settings import Settings
from tests.gemini import StandInGemini
from tests.support import GraphQLClient, StatementCounter, free_port, serving, wait_for

TEST_DATABASE = "aurum_test"


@pytest.fixture(scope="session")
def engine_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    started: list[tuple[Any, Any]] = []
    database_url = os.environ.get("AURUM_TEST_DATABASE_URL")
    redis_url = os.environ.get("AURUM_TEST_REDIS_URL")
    if not database_url:
        server, database_url = start_postgres(tmp_path_factory.mktemp("pg"), TEST_DATABASE)
        started.append((stop_postgres, server))
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+asyncpg://" + database_url.removeprefix("postgresql://")
    if not redis_url:
        redis_server, redis_url = start_redis(tmp_path_factory.mktemp("redis"))
        started.append((partial(stop_redis, force=True), redis_server))
    yield database_url, redis_url
    for stop, server in reversed(started):
        stop(server)


@dataclass(frozen=True)
class Delivery:
    """One message as the SMTP server received it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class SmtpSink:
    """A real SMTP server's handler (aiosmtpd) that keeps every message it accepts.

    Recipients whose local part starts with ``defer-`` are refused with 451 (try later), those starting with
    ``reject-`` with 550 (never), so the senders' handling of both can be tested against a real server.
    """

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = threading.Lock()  # the server runs in its own thread and event loop
        self._deliveries: list[Delivery] = []

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def messages(self) -> list[EmailMessage]:
        return [delivery.message for delivery in self.deliveries]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        local_part = address.partition("@")[0].lower()
        if local_part.startswith("defer-"):
            return "451 4.3.0 Try again later"
        if local_part.startswith("reject-"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = cast(EmailMessage, email.message_from_bytes(raw, policy=email.policy.default))
        delivery = Delivery(str(envelope.mail_from), list(envelope.rcpt_tos), message)
        with self._lock:
            self._deliveries.append(delivery)
        return "250 Message accepted for delivery"

    def received_by(self, to: str) -> list[EmailMessage]:
        """Messages whose envelope or To header names ``to``."""
        wanted = to.lower()
        found = []
        for delivery in self.deliveries:
            headers = [address for _, address in getaddresses(delivery.message.get_all("To", []))]
            if wanted in {a.lower() for a in [*delivery.rcpt_tos, *headers]}:
                found.append(delivery.message)
        return found

    async def wait_for_message(self, to: str, timeout: float = 10) -> EmailMessage:
        """The first message to ``to``, waiting for it to arrive (fails after ``timeout`` seconds)."""
        await wait_for(lambda: bool(self.received_by(to)), f"an email to {to}", timeout=timeout)
        return self.received_by(to)[0]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on loopback for the whole session; the test server's mail goes to it."""
    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def gemini_server() -> Iterator[StandInGemini]:
    """A stand-in Gemini server on loopback for the whole session; the test server's model calls go to it."""
    with StandInGemini() as server:
        yield server


@pytest.fixture
def gemini(gemini_server: StandInGemini) -> Iterator[StandInGemini]:
    """The stand-in with a clean script and records for one test (hangs released afterwards)."""
    gemini_server.reset()
    yield gemini_server
    gemini_server.reset()


@pytest.fixture(scope="session")
def settings(
    engine_urls: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    smtp_server: SmtpSink,
    gemini_server: StandInGemini,
) -> Settings:
    database_url, redis_url = engine_urls
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=tmp_path_factory.mktemp("data"),
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        smtp_url=smtp_server.url,
        gemini_api_key=gemini_server.api_key,
        gemini_base_url=gemini_server.url,
        gemini_backoff=0.01,
        sentiment_delay=0,  # judged at once; tests/test_journal_sentiment.py runs a server with a delay
        query_budget=100_000_000,  # tests poll hard; tests/test_query_budget.py runs one with the default
        trusted_proxies=["127.0.0.1"],  # each GraphQLClient has an address of its own (X-Forwarded-For)
    )


@pytest.fixture(scope="session")
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    assert settings.database_url is not None
    await upgrade(settings.database_url)
    async with open_resources(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
async def server_url(settings: Settings, resources: Resources) -> AsyncIterator[str]:
    async with serving(build_app(settings, resources, run_worker=True), settings) as url:
        yield url


@pytest.fixture(scope="session")
async def http(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        yield client


@pytest.fixture
def anonymous(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


async def register(
    http: httpx.AsyncClient, timezone: str = "UTC", client: GraphQLClient | None = None
) -> GraphQLClient:
    client = client or GraphQLClient(http)
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    data = await client.ok(
        """mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {
             accessToken refreshToken user { id } userErrors { message } } }""",
        {"input": {"email": email, "password": "correct horse battery", "timezone": timezone}},
    )
    payload = data["accountRegister"]
    assert payload["userErrors"] == [], payload
    client.token = payload["accessToken"]
    client.refresh_token = payload["refreshToken"]
    client.email = email
    client.user_id = payload["user"]["id"]
    return client


@pytest.fixture
async def alice(http: httpx.AsyncClient) -> GraphQLClient:
    return await register(http)


@pytest.fixture
async def bob(http: httpx.AsyncClient) -> GraphQLClient:
    return await register(http)


@pytest.fixture
def statements(resources: Resources) -> Iterator[StatementCounter]:
    with StatementCounter(resources.engine) as counter:
        yield counter


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
async def owner(resources: Resources) -> AsyncIterator[AsyncEngine]:
    """The database as the role that ran the migrations sees it: every row, past row-level security."""
    engine = create_async_engine(resources.database_url)
    yield engine
    await engine.dispose()
