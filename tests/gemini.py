"""A stand-in Gemini server on loopback that speaks the ``generateContent`` REST protocol, for the real
google-genai SDK to talk to.

It runs under uvicorn in a thread of its own (so it serves while a test's event loop waits on it, and a
sync fixture can start it), checks the API key, records every request body, and plays a script of
behaviours, one per request, falling back to a default when the script is empty::

    gemini.script(status(429), answer({"insights": []}))   # a 429, then a good answer
    gemini.script(text("not json"))                          # raw text as the model's answer
    gemini.script(hang())                                    # never answers, until release() or reset()
    gemini.script(respond(lambda request: {...}))            # an answer made from the request's data block
    gemini.default = delay(0.5)                              # every answer after 500 ms (the bench)
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aurum.hrm.prompt import CLOSE, OPEN
from tests.support import free_port

API_KEY = "stand-in-gemini-key"
MODEL_VERSION = "gemini-2.5-flash-stand-in"
LONGEST_HANG = 120.0  # seconds: nothing hangs past the session, even if a test forgets to release it
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True)
class Answer:
    """The model answers: a dict or list is sent as JSON text, a str as it is."""

    content: dict[str, Any] | list[Any] | str
    model_version: str = MODEL_VERSION


@dataclass(frozen=True)
class Status:
    """An HTTP error with a Google-style error body."""

    code: int
    message: str = "The stand-in was told to fail."


@dataclass(frozen=True)
class Respond:
    """The model answers with what ``build`` makes of the request (e.g. naming ids from its data)."""

    build: Callable[[Recorded], dict[str, Any] | list[Any] | str]
    model_version: str = MODEL_VERSION


@dataclass(frozen=True)
class Hang:
    """No answer until ``release()`` or ``reset()``."""


@dataclass(frozen=True)
class Delay:
    """Wait, then behave as ``then`` (None: the default behaviour)."""

    seconds: float
    then: Answer | Status | Respond | None = None


Outcome = Answer | Status | Respond
Behaviour = Answer | Status | Respond | Hang | Delay


def answer(content: dict[str, Any] | list[Any] | str, model_version: str = MODEL_VERSION) -> Answer:
    return Answer(content, model_version)


def text(raw: str) -> Answer:
    return Answer(raw)


def status(code: int, message: str = "The stand-in was told to fail.") -> Status:
    return Status(code, message)


def respond(build: Callable[[Recorded], dict[str, Any] | list[Any] | str]) -> Respond:
    return Respond(build)


def hang() -> Hang:
    return Hang()


def delay(seconds: float, then: Outcome | None = None) -> Delay:
    return Delay(seconds, then)


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it."""

    version: str
    model: str
    api_key: str | None
    body: dict[str, Any]

    @property
    def system(self) -> str:
        parts = (self.body.get("systemInstruction") or {}).get("parts", [])
        return "".join(part.get("text", "") for part in parts)

    @property
    def contents(self) -> str:
        """The text of every content part (the prompt's data)."""
        return "".join(part.get("text", "") for c in self.body.get("contents", []) for part in c["parts"])

    @property
    def raw(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)

    @property
    def data(self) -> Any:
        """The prompt's data block, parsed (None without one)."""
        contents = self.contents
        if OPEN not in contents or CLOSE not in contents:
            return None
        return json.loads(contents.split(OPEN, 1)[1].rsplit(CLOSE, 1)[0])


class StandInGemini:
    DEFAULT: ClassVar[Answer] = Answer({"insights": []})

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.port = 0
        self.default: Behaviour = self.DEFAULT
        self._lock = threading.Lock()
        self._script: deque[Behaviour] = deque()
        self._requests: list[Recorded] = []
        self._hanging = 0
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._released: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- driving it from tests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *behaviours: Behaviour) -> None:
        """Play these, one per request, before falling back to the default."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def hanging(self) -> int:
        """Requests being held by a hang right now."""
        with self._lock:
            return self._hanging

    def release(self) -> None:
        """Let every hanging request go (it answers as the default would)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._release_in_loop)

    def reset(self) -> None:
        """A clean slate: no script, no records, the default behaviour, no hangs."""
        self.release()
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self.default = self.DEFAULT

    # --- running

    def start(self) -> StandInGemini:
        self.port = free_port()
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_config=None, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="stand-in-gemini", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the stand-in Gemini server did not start")
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)

    def __enter__(self) -> StandInGemini:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the server

    def app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self._loop = asyncio.get_running_loop()
            self._released = asyncio.Event()
            self._started.set()
            yield

        return Starlette(
            routes=[Route("/{version}/models/{call:path}", self.generate, methods=["POST"])],
            lifespan=lifespan,
        )

    def _release_in_loop(self) -> None:
        if self._released is not None:
            self._released.set()
        self._released = asyncio.Event()

    def _next(self) -> Behaviour:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    async def generate(self, request: Request) -> Response:
        model, _, method = request.path_params["call"].partition(":")
        if method != "generateContent":
            return error(404, f"Method {method} is not served by the stand-in.")
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if key != self.api_key:
            return error(400, "API key not valid. Please pass a valid API key.")
        body = await request.json()
        recorded = Recorded(request.path_params["version"], model, key, body)
        with self._lock:
            self._requests.append(recorded)
        return await self._play(self._next(), recorded)

    async def _play(self, behaviour: Behaviour, recorded: Recorded) -> Response:
        if isinstance(behaviour, Hang):
            await self._hang()
            behaviour = self._fallback()
        if isinstance(behaviour, Delay):
            await asyncio.sleep(behaviour.seconds)
            behaviour = behaviour.then or self._fallback()
        if isinstance(behaviour, Status):
            return error(behaviour.code, behaviour.message)
        if isinstance(behaviour, Respond):
            behaviour = Answer(behaviour.build(recorded), behaviour.model_version)
        assert isinstance(behaviour, Answer)
        return JSONResponse(generate_content_response(behaviour, prompt_tokens=len(recorded.raw) // 4))

    def _fallback(self) -> Outcome:
        """What the default comes down to once a hang or a delay is over."""
        default = self.default
        if isinstance(default, Delay):
            return default.then or self.DEFAULT
        return self.DEFAULT if isinstance(default, Hang) else default

    async def _hang(self) -> None:
        released = self._released
        assert released is not None
        with self._lock:
            self._hanging += 1
        try:
            await asyncio.wait_for(released.wait(), LONGEST_HANG)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._hanging -= 1


def error(code: int, message: str) -> Response:
    name = STATUS_NAMES.get(code, "UNKNOWN")
    return JSONResponse({"error": {"code": code, "message": message, "status": name}}, status_code=code)


def generate_content_response(behaviour: Answer, prompt_tokens: int) -> dict[str, Any]:
    """A GenerateContentResponse as the REST API sends it (token counts: about four characters each)."""
    content = behaviour.content
    reply = content if isinstance(content, str) else json.dumps(content)
    answer_tokens = max(len(reply) // 4, 1)
    return {
        "candidates": [
            {"content": {"parts": [{"text": reply}], "role": "model"}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": answer_tokens,
            "totalTokenCount": prompt_tokens + answer_tokens,
        },
        "modelVersion": behaviour.model_version,
        "responseId": uuid.uuid4().hex,
    }
