"""The ASGI app of ``romcam serve`` (Starlette): pages and assets from ``romcam/web/static``, a JSON API over the
history, live sessions over WebSockets (``web.live``), and jobs for uploaded videos (``web.jobs``).

Every request and WebSocket must carry the session token (``?token=``, the ``X-Romcam-Token`` header, or the
cookie the first page sets); without it: 403. Only the host names the server was started for are answered
(a page elsewhere cannot reach it through DNS rebinding). Nothing is fetched from outside the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from romcam.app.exercise import ExerciseConfig
from romcam.errors import RomcamError
from romcam.web import api
from romcam.web.camera import FrameError, parse_frame_message
from romcam.web.jobs import JobRunner
from romcam.web.live import LiveRun

log = logging.getLogger("romcam")

COOKIE = "romcam_token"
HEADER = "x-romcam-token"
PAGES = ("index", "exercise", "measure", "therapist", "patient")
MAX_TEXT_MESSAGE_BYTES = 4096
"""The largest text (control) message a live WebSocket accepts."""


@dataclass(frozen=True)
class ServeSettings:
    """What ``romcam serve`` serves: where the history and the saved sessions live, the model, and the token."""

    data_dir: Path
    db: Path | None = None
    token: str = ""
    model: str | None = None
    model_variant: str | None = None  # None: the protocol's for measurements, else full
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost")


def new_token() -> str:
    """A fresh session token (32 random bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def _token_of(scope: Scope) -> str:
    """The token a request carries: query ``token``, else the header, else the cookie."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    if headers.get(HEADER):
        return headers[HEADER]
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(headers.get("cookie", ""))
    return cookie[COOKIE].value if COOKIE in cookie else ""


def _same_origin(scope: Scope) -> bool:
    """Whether a request's ``Origin`` (sent by browsers with WebSockets and POSTs) names the host it was sent to;
    a page of another site cannot drive a patient's session even if it learnt the token."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    origin = headers.get("origin")
    if origin is None:
        return True
    return origin.split("://", 1)[-1] == headers.get("host", "")


class TokenGate:
    """ASGI middleware: 403 for any HTTP request or WebSocket without the session token (or from a page of another
    origin); a page opened with
    ``?token=`` gets it as a same-site, HTTP-only cookie so its assets and calls carry it."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not secrets.compare_digest(_token_of(scope).encode(), self.token.encode()) or not _same_origin(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await Response("403: this page needs the session token of `romcam serve`", 403)(scope, receive, send)
            return
        await self.app(scope, receive, self._with_cookie(send))

    def _with_cookie(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        return sending


def static_dir() -> Path:
    """The folder of the page files shipped inside the package."""
    return Path(str(resources.files("romcam.web") / "static"))


def _page(name: str) -> Any:
    async def page(request: Request) -> Response:
        return FileResponse(static_dir() / f"{name}.html", headers={"Cache-Control": "no-store"})

    return page


async def _static(request: Request) -> Response:
    name = request.path_params["name"]
    folder = static_dir()
    path = (folder / name).resolve()
    if not path.is_file() or folder.resolve() not in path.parents:
        return JSONResponse({"error": f"no asset {name!r}"}, 404)
    return FileResponse(path)


def _api(handler: Any) -> Any:
    """A JSON endpoint: ``handler(settings, request)`` returns data or raises ``api.ApiError`` (its status) or
    ``RomcamError`` (400); blocking work runs in a thread."""

    async def endpoint(request: Request) -> Response:
        settings: ServeSettings = request.app.state.settings
        try:
            result = await handler(settings, request)
        except api.ApiError as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        except RomcamError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint


async def _send_messages(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Forward the live loop's messages to the page until the session is saved or failed."""
    while True:
        message = await queue.get()
        await websocket.send_text(json.dumps(message, allow_nan=False, default=str))
        if message["type"] in ("saved", "error") and message.get("fatal", message["type"] == "saved"):
            return


def _text_message(text: str) -> dict[str, Any]:
    if len(text) > MAX_TEXT_MESSAGE_BYTES:
        raise FrameError(f"control message longer than {MAX_TEXT_MESSAGE_BYTES} bytes")
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        raise FrameError("a control message is a JSON object with a 'type'") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise FrameError("a control message is a JSON object with a 'type'")
    return message


async def _live(websocket: WebSocket, kind: str) -> None:
    """A live session: the page sends {"type": "start", "width", "height"}, then binary frames, then
    {"type": "stop"}; it gets a state per processed frame and, at the end, the saved record."""
    settings: ServeSettings = websocket.app.state.settings
    await websocket.accept()
    try:
        config = api.live_config(settings, kind, dict(websocket.query_params))
        start = _text_message(await websocket.receive_text())
        camera = api.browser_camera(start)
    except (RomcamError, KeyError, ValueError) as exc:
        await websocket.send_text(json.dumps({"type": "error", "message": str(exc), "fatal": True}))
        await websocket.close(1008)
        return
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def publish(message: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, message)

    run = LiveRun(camera, publish, settings.model, settings.model_variant)
    if isinstance(config, ExerciseConfig):
        run.start_exercise(config)
    else:
        run.start_measure(config)
    sender = asyncio.create_task(_send_messages(websocket, queue))
    try:
        await _receive_frames(websocket, run, queue, sender)
        await sender
    except WebSocketDisconnect:
        pass
    finally:
        run.stop()  # the page left: the session ends and saves what was done
        sender.cancel()
        await asyncio.to_thread(run.wait_saved)  # the server, told to stop, waits for this before it exits


async def _receive_frames(
    websocket: WebSocket, run: LiveRun, queue: asyncio.Queue[dict[str, Any]], sender: asyncio.Task[None]
) -> None:
    """Frames into the camera until the page stops or the session ends; a bad message is answered, not fatal."""
    while not sender.done():
        receiving = asyncio.create_task(websocket.receive())
        done, _ = await asyncio.wait({receiving, sender}, return_when=asyncio.FIRST_COMPLETED)
        if receiving not in done:
            receiving.cancel()
            return
        message = receiving.result()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        try:
            if message.get("bytes") is not None:
                run.camera.put(*parse_frame_message(message["bytes"]))
            elif (kind := _text_message(message.get("text") or "")["type"]) == "stop":
                run.stop()
            else:
                raise FrameError(f"unknown control message {kind!r} (a live session takes frames and 'stop')")
        except FrameError as exc:
            queue.put_nowait({"type": "error", "message": str(exc), "fatal": False})


async def _live_exercise(websocket: WebSocket) -> None:
    await _live(websocket, "exercise")


async def _live_measure(websocket: WebSocket) -> None:
    await _live(websocket, "measure")


@contextlib.asynccontextmanager
async def _finish_jobs_on_stop(app: Starlette) -> AsyncIterator[None]:
    """When the server stops (Ctrl-C): upload jobs still queued are dropped with their uploads, and the running one
    finishes before the process ends (``JobRunner``), each said in a line."""
    yield
    runner: JobRunner = app.state.jobs
    for job in runner.drop_queued():
        log.warning("stopping: queued job %s dropped, its uploaded videos deleted", job.folder)
    running = runner.running()
    if running is not None:
        log.warning("stopping: waiting for the running job %s to finish", running.folder)
    await asyncio.to_thread(runner.wait)


def create_app(settings: ServeSettings) -> Starlette:
    """The app for ``settings`` (``settings.token`` must be set)."""
    if not settings.token:
        raise ValueError("the server needs a session token")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    routes = [
        Route("/", _page("index")),
        *[Route(f"/{name}", _page(name)) for name in PAGES if name != "index"],
        Route("/static/{name:path}", _static),
        Route("/api/catalog", _api(api.catalog)),
        Route("/api/patients", _api(api.patients)),
        Route("/api/patients/{patient}/history", _api(api.patient_history)),
        Route("/api/patients/{patient}/trend.png", _api(api.patient_trend)),
        Route("/api/results", _api(api.results)),
        Route("/results/{folder}/{name:path}", _api(api.result_file)),
        Route("/api/jobs", _api(api.start_job), methods=["POST"]),
        Route("/api/jobs/{job}", _api(api.job_status)),
        WebSocketRoute("/ws/exercise", _live_exercise),
        WebSocketRoute("/ws/measure", _live_measure),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.hosts)),
        Middleware(TokenGate, token=settings.token),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=_finish_jobs_on_stop)
    app.state.settings = settings
    app.state.jobs = JobRunner(settings.data_dir / "results", settings.db, settings.model, settings.model_variant)
    return app
