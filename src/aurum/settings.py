"""Configuration from the environment (``AURUM_…``), validated once at start-up."""

from __future__ import annotations

import ipaddress
import secrets
from email.utils import parseaddr
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from zxcvbn import zxcvbn


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line naming it."""


class SettingProblem(ValueError):
    """What is wrong with a setting that only the settings together can tell, naming that setting."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


# A signing key must be hard to guess, not only long: 32 spaces are long. zxcvbn estimates the guesses an
# attacker needs. Its estimates for random 32-character hex keys (128 bits) ran from 10^27.9 to 10^35 over a
# thousand of them; 10^26 admits all of those and refuses repetitions, keyboard walks and sentences of
# common words ("correct horse battery staple 1234": 10^24.8).
SECRET_KEY_GUESSES_LOG10 = 26
# The committed manifest of the clients' operations, beside the source (aurum export-manifest writes it).
TRUSTED_DOCUMENTS_MANIFEST = Path(__file__).resolve().parents[2] / "client" / "persisted-query-manifest.json"
MAKE_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AURUM_", extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".aurum")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AURUM_DATABASE_URL", "DATABASE_URL")
    )
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("AURUM_REDIS_URL", "REDIS_URL"))
    secret_key: str | None = None
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    # Sign-in throttling (aurum.auth.throttle): per account and address, and per known device, in the window;
    # per address across accounts in the window; and the account's ceiling over a longer window.
    login_failures_per_account_address: int = Field(default=10, ge=1, le=1000)
    login_failures_per_address: int = Field(default=30, ge=1, le=100_000)
    login_window_seconds: int = Field(default=15 * 60, ge=10, le=24 * 3600)
    login_failures_per_account: int = Field(default=100, ge=1, le=100_000)
    login_account_window_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    app_url: str = "http://127.0.0.1:8000"
    public_url: str = "http://127.0.0.1:8000"
    # Comma-separated in the environment: AURUM_CORS_ORIGINS=https://app.aurum.life,https://m.aurum.life
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    token_issuer: str = "aurum-life"
    token_audience: str = "aurum-life-api"
    log_level: str = "INFO"
    log_json: bool = False
    max_query_depth: int = Field(default=15, ge=2, le=100)
    max_aliases: int = Field(default=30, ge=1, le=1000)
    max_tokens: int = Field(default=5000, ge=100, le=100_000)
    # Fields of a query once every fragment spread is replaced by its fragment (aurum.graphql.limits).
    max_query_fields: int = Field(default=10_000, ge=100, le=1_000_000)
    # Queries over the hierarchy read, and taskCreate made, by the compiled path (aurum.compiled); false:
    # all by the resolvers.
    compiled_reads: bool = True
    # Seconds of work one query or mutation may take before it is stopped (OPERATION_TIMEOUT).
    operation_timeout: float = Field(default=10.0, ge=0.01, le=600)
    # The most objects one request may ask for, and one user per minute (aurum.graphql.cost).
    max_query_cost: int = Field(default=50_000, ge=100, le=10_000_000)
    # What the compiled path may read instead (aurum.compiled): rows actually read, and a ceiling on the
    # objects a query could return, beyond which it is absurd whatever the data.
    max_query_rows: int = Field(default=50_000, ge=100, le=10_000_000)
    query_cost_ceiling: int = Field(default=1_000_000_000, ge=100, le=10**15)
    query_budget: int = Field(default=500_000, ge=100, le=100_000_000)
    # When set, /metrics answers only "Authorization: Bearer <token>" (unset: open, for a private network).
    metrics_token: str | None = Field(default=None, min_length=16)
    # Bytes in one request body that is not a file upload (uploads have their own caps).
    max_request_bytes: int = Field(default=1_048_576, ge=16_384, le=64 * 1_048_576)
    database_role: str = Field(default="aurum_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Connections (HTTP and WebSocket) one process holds at once; past it a new one is refused with 503.
    max_connections: int = Field(default=10_000, ge=16, le=1_000_000)
    # Seconds for a request's line and headers to arrive (from connecting, or from the first byte of a
    # request on a reused connection); also how long a connection that sends nothing is kept.
    http_header_timeout: float = Field(default=10.0, gt=0, le=300)
    # Seconds a request body may pause between two reads; after that long a body must also have kept
    # http_body_min_rate bytes per second on average (0: no minimum), so a slow honest upload goes on.
    http_body_timeout: float = Field(default=30.0, gt=0, le=3600)
    http_body_min_rate: int = Field(default=1024, ge=0, le=100 * 1_048_576)
    # Seconds an idle connection is kept between requests: above a proxy's own idle timeout (nginx and
    # AWS load balancers keep 60 s), or the proxy may reuse a connection just as it is closed.
    http_keepalive_timeout: float = Field(default=65.0, gt=0, le=3600)
    # Comma-separated IPs or CIDR networks whose X-Forwarded-For / X-Forwarded-Proto are believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    ws_max_connections_per_user: int = Field(default=20, ge=1, le=1000)
    ws_max_subscriptions_per_connection: int = Field(default=20, ge=1, le=1000)
    ws_recheck_interval: float = Field(default=60.0, gt=0, le=3600)
    ws_queue_size: int = Field(default=256, ge=8, le=100_000)
    event_sweep_interval: float = Field(default=1.0, gt=0, le=60)
    event_sweep_age: float = Field(default=1.0, ge=0, le=600)
    event_retention_days: int = Field(default=90, ge=1, le=3650)
    # Database connections per process, all kept once opened: connections opened past a pool's size for a
    # burst and closed after it cost a connect and a fresh statement cache each, measured at a third of the
    # process's time in write bursts.
    db_pool_size: int = Field(default=20, ge=1, le=200)
    # A journal entry's sentiment is judged this long after an edit: an autosaving client saves every few
    # seconds, and only the text it settles on is worth a model call.
    sentiment_delay: float = Field(default=5.0, ge=0, le=600)
    worker_poll_delay: float = Field(default=0.05, gt=0, le=5)
    # The scoring job starts this long after a write, and writes meanwhile join it: a burst is one pass.
    # Reads compute what it has not rescored yet, so nobody waits for it.
    rescore_delay: float = Field(default=0.25, ge=0, le=60)
    # How long plan() lets CP-SAT improve on the greedy plan (seconds); the greedy plan answers after it.
    plan_time_limit: float = Field(default=1.5, gt=0, le=30)
    # An analysis run pending this long after its last change is queued again (a worker died under it).
    analysis_stuck_seconds: float = Field(default=180.0, gt=0, le=86400)
    smtp_url: str | None = None
    mail_from: str = "Aurum Life <no-reply@aurum.life>"
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    gemini_api_key: str | None = None  # unset: no AI, the HRM works from its rules alone
    gemini_model: str = Field(default="gemini-2.5-flash", min_length=1)
    gemini_base_url: str | None = None  # for proxies and stand-ins; unset: Google's
    gemini_timeout: float = Field(default=20.0, gt=0, le=300)  # seconds, per attempt
    gemini_max_attempts: int = Field(default=3, ge=1, le=10)
    gemini_backoff: float = Field(default=0.2, ge=0, le=30)  # seconds before the first retry, doubling
    gemini_cache_seconds: int = Field(default=24 * 3600, ge=1, le=30 * 24 * 3600)
    ai_monthly_quota: int = Field(default=300, ge=0)  # model calls per user per calendar month
    # Persisted documents (aurum.persisted): only the trusted manifest's documents run; the manifest; and
    # how many new documents one account may persist a day (Apollo's automatic persisted queries).
    trusted_documents_only: bool = False
    trusted_documents_manifest: Path = TRUSTED_DOCUMENTS_MANIFEST
    persisted_documents_per_day: int = Field(default=200, ge=0, le=100_000)

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0]
        if scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
            raise ValueError("must be a postgresql:// URL")
        return "postgresql+asyncpg://" + value.split("://", 1)[1]

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.split("://", 1)[0] not in {"redis", "rediss", "unix"}:
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("google_client_id", "google_client_secret", "gemini_api_key")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("gemini_base_url")
    @classmethod
    def _gemini_base_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        from aurum.mail import parse_smtp_url  # the one reader of SMTP URLs; imported late (it imports us)

        parse_smtp_url(value)  # ValueError names what is wrong: scheme, host, port or starttls
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        address = parseaddr(value)[1]
        if "\r" in value or "\n" in value or "@" not in address:
            raise ValueError('must be an address, e.g. "Aurum Life <no-reply@aurum.life>"')
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for origin in value:
                if origin != "*" and not str(origin).startswith(("http://", "https://")):
                    raise ValueError(f"'{origin}' is not an origin such as https://app.aurum.life")
                if origin == "*":
                    raise ValueError("'*' is not allowed: list the origins of the apps")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            return value
        proxies = []
        for entry in value:
            try:
                network = ipaddress.ip_network(str(entry).strip(), strict=False)
            except ValueError:
                raise ValueError(f"'{entry}' is not an IP address or a network such as 10.0.0.0/8") from None
            proxies.append(str(network.network_address) if network.num_addresses == 1 else str(network))
        return proxies

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) < 32:
            raise ValueError(f"must be at least 32 characters; make one with {MAKE_SECRET_KEY}")
        if zxcvbn(value[:72])["guesses_log10"] < SECRET_KEY_GUESSES_LOG10:
            raise ValueError(f"is too easy to guess: use a random key, e.g. from {MAKE_SECRET_KEY}")
        return value

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.env is Environment.PRODUCTION and not self.secret_key:
            message = f"is required when AURUM_ENV=production; make one with {MAKE_SECRET_KEY}"
            raise SettingProblem("AURUM_SECRET_KEY", message)
        return self

    @model_validator(mode="after")
    def _trusted_documents_need_their_manifest(self) -> Settings:
        if self.trusted_documents_only and not self.trusted_documents_manifest.is_file():
            message = (
                f"{self.trusted_documents_manifest} is not a file, and AURUM_TRUSTED_DOCUMENTS_ONLY needs "
                "the manifest: build it with `aurum export-manifest`"
            )
            raise SettingProblem("AURUM_TRUSTED_DOCUMENTS_MANIFEST", message)
        return self

    @property
    def is_development(self) -> bool:
        return self.env is Environment.DEVELOPMENT

    @cached_property
    def signing_key(self) -> str:
        """The secret for tokens: configured, or generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one line that names the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        problem = error.get("ctx", {}).get("error")
        if isinstance(problem, SettingProblem):
            raise SettingsError(f"invalid setting {problem.setting}: {problem}") from None
        name = str(error["loc"][0]).upper() if error["loc"] else "configuration"
        # Fields with aliases report the alias (already AURUM_…); the others their field name.
        location = name if name.startswith("AURUM_") or not error["loc"] else "AURUM_" + name
        message = error["msg"].removeprefix("Value error, ")  # pydantic's prefix says nothing to an operator
        raise SettingsError(f"invalid setting {location}: {message}") from None
