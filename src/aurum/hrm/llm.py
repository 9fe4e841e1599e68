"""Asking Gemini: gates (consent, key, quota), a Redis cache by input hash, a timeout and bounded retries,
and an answer validated against a Pydantic schema. Never raises for a bad answer or a failing model: every
outcome is an ``LlmResult``, degraded with one readable line when there is no answer."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

import structlog
from google import genai
from google.genai import errors, types
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, field_validator
from redis.asyncio import Redis

from aurum.hrm import usage
from aurum.hrm.findings import INSIGHT_TYPES
from aurum.hrm.prompt import Prompt
from aurum.resources import Resources
from aurum.settings import Settings

log = structlog.get_logger(__name__)

CACHE_PREFIX = "aurum:llm:v1:"
RETRYABLE = frozenset({408, 429})  # and every 5xx

InsightType = Literal[
    "priority_reasoning",
    "alignment_analysis",
    "pattern_recognition",
    "recommendation",
    "goal_coherence",
    "time_allocation",
    "progress_prediction",
    "obstacle_identification",
]
assert set(get_args(InsightType)) == set(INSIGHT_TYPES)

# Control characters: PostgreSQL cannot store NUL, and none has a place in text we show. Removed before the
# length checks, so a field of nothing else is as empty as it looks.
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(value: object) -> object:
    return UNPRINTABLE.sub("", value).strip() if isinstance(value, str) else value


Printable = BeforeValidator(printable)
Line = Annotated[str, Printable, Field(min_length=1, max_length=300)]
Tag = Annotated[str, Printable, Field(min_length=1, max_length=40)]


class Answer(BaseModel):
    """A schema the model answers in; those that name records say which."""

    def named_ids(self) -> frozenset[uuid.UUID]:
        return frozenset()


class AdviceInsight(BaseModel):
    type: InsightType
    title: Annotated[str, Printable, Field(min_length=1, max_length=120)]
    summary: Annotated[str, Printable, Field(min_length=1, max_length=600)]
    confidence: float = Field(ge=0, le=1)
    impact: float = Field(ge=0, le=1)
    recommendations: list[Line] = Field(max_length=5)
    entity_ids: list[str] = Field(max_length=50, description="the ids of the records it is about")
    tags: list[Tag] = Field(default_factory=list, max_length=5)

    @field_validator("entity_ids")
    @classmethod
    def _uuids(cls, values: list[str]) -> list[str]:
        return [str(uuid.UUID(value)) for value in values]  # ValueError: not an id (a wrong shape)


class Advice(Answer):
    insights: list[AdviceInsight] = Field(max_length=5)

    def named_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(uuid.UUID(i) for insight in self.insights for i in insight.entity_ids)


class SentimentAdvice(Answer):
    score: float = Field(ge=-1, le=1)
    label: Literal["positive", "neutral", "negative"]
    keywords: list[Tag] = Field(default_factory=list, max_length=5)
    themes: list[Tag] = Field(default_factory=list, max_length=3)


T = TypeVar("T", bound=Answer)


@dataclass(frozen=True)
class LlmResult(Generic[T]):
    answer: T | None
    model: str | None = None
    degraded: str | None = None  # why there is no answer, in one readable line
    cached: bool = False


@dataclass(frozen=True)
class Reply:
    """What one model call returned: its text and what it cost."""

    text: str | None
    model: str
    input_tokens: int
    output_tokens: int


class CallFailed(Exception):
    """The model gave no usable reply; the message is the readable reason."""


class ModelClient:
    """One per process: the Gemini client, the cache and the quota, for every user."""

    def __init__(self, resources: Resources, settings: Settings | None = None) -> None:
        self.resources = resources
        self.settings = settings or resources.settings
        self.redis: Redis = resources.redis
        self._client: genai.Client | None = None

    @property
    def client(self) -> genai.Client:
        if self._client is None:
            self._client = genai.Client(
                api_key=self.settings.gemini_api_key,
                vertexai=False,
                http_options=types.HttpOptions(
                    base_url=self.settings.gemini_base_url,
                    # Our asyncio timeout decides; the transport's is a backstop (and a hint to Google).
                    timeout=int(self.settings.gemini_timeout * 1000) + 1000,
                    # One attempt per call: our loop counts and spaces the retries, the SDK never retries.
                    retry_options=types.HttpRetryOptions(attempts=1),
                ),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aio.aclose()
            self._client.close()
            self._client = None

    async def generate(
        self,
        *,
        user_id: uuid.UUID,
        purpose: str,
        prompt: Prompt,
        schema: type[T],
        ai_enabled: bool,
        force: bool = False,
    ) -> LlmResult[T]:
        """The model's validated answer, or a degraded result saying why there is none."""
        system, data, allowed_ids = prompt.system, prompt.data, prompt.allowed_ids
        if not ai_enabled:
            return LlmResult(None, degraded="AI is turned off in your HRM preferences")
        if not self.settings.gemini_api_key:
            return LlmResult(None, degraded="no AI model is configured")
        key = self._cache_key(user_id, purpose, system, data, schema)
        if not force:
            cached = await self._cached(key, schema, allowed_ids)
            if cached is not None:
                await usage.record_cache_hit(self.resources, user_id)
                return cached
        reservation = await usage.reserve_call(self.resources, user_id, quota=self.settings.ai_monthly_quota)
        if not reservation.allowed:
            quota = reservation.quota
            return LlmResult(None, degraded=f"this month's AI quota ({quota} calls) is used up")
        result = await self._ask(user_id, purpose, system, data, schema, allowed_ids, reservation)
        if result.answer is not None:
            await self._remember(key, result)
        return result

    async def _ask(
        self,
        user_id: uuid.UUID,
        purpose: str,
        system: str,
        data: str,
        schema: type[T],
        allowed_ids: frozenset[uuid.UUID] | None,
        reservation: usage.Reservation,
    ) -> LlmResult[T]:
        started = time.monotonic()
        fields: dict[str, Any] = {"user_id": str(user_id), "purpose": purpose, "schema": schema.__name__}
        try:
            reply, attempts = await self._call(system, data, schema)
        except CallFailed as failure:
            log.warning("model call failed", reason=str(failure), **fields, seconds=_since(started))
            return LlmResult(None, degraded=str(failure))
        await usage.record_tokens(
            self.resources, user_id, reply.input_tokens, reply.output_tokens, month=reservation.month
        )
        result = self.validate(reply, schema, allowed_ids)
        log.info(
            "model answered",
            **fields,
            model=reply.model,
            attempts=attempts,
            degraded=result.degraded,
            usage={"in": reply.input_tokens, "out": reply.output_tokens},
            seconds=_since(started),
        )
        return result

    async def _call(self, system: str, data: str, schema: type[Answer]) -> tuple[Reply, int]:
        """One logical call: up to ``gemini_max_attempts`` attempts, backing off on 429, 5xx and timeouts."""
        config = types.GenerateContentConfig(
            system_instruction=system,
            response_mime_type="application/json",
            response_schema=schema,
            temperature=0.2,
            candidate_count=1,
        )
        attempts = self.settings.gemini_max_attempts
        reason = ""
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                base = self.settings.gemini_backoff * 2 ** (attempt - 2)
                await asyncio.sleep(base * random.uniform(0.5, 1.0))
            try:
                return await self._attempt(data, config), attempt
            except errors.APIError as exc:
                if exc.code not in RETRYABLE and exc.code < 500:
                    raise CallFailed(f"the AI model refused the request (HTTP {exc.code})") from None
                busy = "was rate-limited" if exc.code == 429 else "was unavailable"
                reason = f"the AI model {busy} (HTTP {exc.code})"
            except TimeoutError:
                reason = f"the AI model did not answer within {self.settings.gemini_timeout:g} s"
            except Exception as exc:  # the transport's own errors (httpx2, httpx or aiohttp, as installed)
                log.warning("model unreachable", error=type(exc).__name__)
                raise CallFailed("the AI model could not be reached") from None
        times = "attempt" if attempts == 1 else "attempts"
        raise CallFailed(f"{reason} after {attempts} {times}")

    async def _attempt(self, data: str, config: types.GenerateContentConfig) -> Reply:
        async with asyncio.timeout(self.settings.gemini_timeout):
            response = await self.client.aio.models.generate_content(
                model=self.settings.gemini_model, contents=data, config=config
            )
        metadata = response.usage_metadata
        output = (
            (metadata.candidates_token_count or 0) + (metadata.thoughts_token_count or 0) if metadata else 0
        )
        return Reply(
            text=response.text,
            model=response.model_version or self.settings.gemini_model,
            input_tokens=(metadata.prompt_token_count or 0) if metadata else 0,
            output_tokens=output,
        )

    @staticmethod
    def validate(reply: Reply, schema: type[T], allowed_ids: frozenset[uuid.UUID] | None) -> LlmResult[T]:
        """The reply as ``schema``, or why it is not usable."""
        try:
            parsed = json.loads(reply.text or "")
        except ValueError:
            return LlmResult(None, model=reply.model, degraded="the AI model's answer was not valid JSON")
        try:
            answer = schema.model_validate(parsed)
        except ValidationError:
            return LlmResult(
                None, model=reply.model, degraded="the AI model's answer did not match the expected shape"
            )
        if allowed_ids is not None and not answer.named_ids() <= allowed_ids:
            return LlmResult(
                None, model=reply.model, degraded="the AI model's answer named records outside this analysis"
            )
        return LlmResult(answer, model=reply.model)

    def _cache_key(self, user_id: uuid.UUID, purpose: str, system: str, data: str, schema: type[T]) -> str:
        # The user is part of the key so that no answer is ever shared between people, whatever the input.
        parts = [str(user_id), self.settings.gemini_model, purpose, system, data, schema.__name__]
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
        return CACHE_PREFIX + digest

    async def _cached(
        self, key: str, schema: type[T], allowed_ids: frozenset[uuid.UUID] | None
    ) -> LlmResult[T] | None:
        try:
            raw = await self.redis.get(key)
        except Exception:  # the cache only saves calls: without Redis, ask the model
            log.warning("model cache unavailable", exc_info=True)
            return None
        if raw is None:
            return None
        stored = json.loads(raw)
        result = self.validate(
            Reply(json.dumps(stored["answer"]), stored["model"], 0, 0), schema, allowed_ids
        )
        if result.answer is None:
            return None
        return LlmResult(result.answer, model=result.model, cached=True)

    async def _remember(self, key: str, result: LlmResult[T]) -> None:
        assert result.answer is not None
        value = json.dumps({"model": result.model, "answer": result.answer.model_dump(mode="json")})
        try:
            await self.redis.set(key, value, ex=self.settings.gemini_cache_seconds)
        except Exception:
            log.warning("model cache unavailable", exc_info=True)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def model_client(resources: Resources) -> ModelClient:
    """The process's model client, made on first use and closed with the resources."""
    if resources.model_client is None:
        resources.model_client = ModelClient(resources)
    return resources.model_client
