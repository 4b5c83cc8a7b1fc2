"""The run viewer's local web server: ``paperbench view RUNS...``.

Same walls as the rubric editor (:mod:`paperbench.rubric.editor.server`):

* **Loopback only**, and only requests whose ``Host`` is ``127.0.0.1:PORT`` or
  ``localhost:PORT`` are answered (no DNS rebinding).
* **A random token** on every route — page, scripts, styles, data, overrides — in the ``token``
  query parameter or the ``X-Paperbench-Token`` header; anything else gets ``403``.
* **A content security policy** that allows only this server's own scripts and styles, no
  inline script, no frames, no form posts; ``Referrer-Policy: no-referrer`` so the token stays
  here; ``nosniff`` so a served log is never run as a script.

What a run directory holds is untrusted (it came from the agent's container or from a model):
the server hands it to the page as JSON or plain text, and the page shows it with
``textContent``. Files are read through :mod:`paperbench.view.files` (inside the run, no links)
and :mod:`paperbench.view.lines` (a page at a time, searches bounded), so a 2 GB log or a
million-event transcript never enters memory whole.

The only writes are reviewers' overrides (:mod:`paperbench.grading.overrides`), into the run's
``grading/overrides.json``; the judge's tree is never changed.
"""

from __future__ import annotations

import getpass
import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from paperbench.errors import PaperbenchError
from paperbench.grading.overrides import OverrideError, remove_override, review, set_override
from paperbench.local_http import LocalServer
from paperbench.view import catalog
from paperbench.view.files import (
    FileMissing,
    FileRefused,
    is_binary,
    listing,
    locate,
    resolve_evidence,
)
from paperbench.view.lines import LineIndex
from paperbench.view.transcript import full_event, summaries

TOKEN_HEADER = "X-Paperbench-Token"
MAX_BODY_BYTES = 1024 * 1024
MAX_PAGE_LINES = 2000
MAX_INDEXES = 64
MAX_QUERY_CHARS = 500
STATIC_FILES = {
    "view.css": "text/css",
    "view-common.js": "text/javascript",
    "view-runs.js": "text/javascript",
    "view-run.js": "text/javascript",
    "view-transcript.js": "text/javascript",
    "view-details.js": "text/javascript",
    "view-tree.js": "text/javascript",
    "view-text.js": "text/javascript",
    "view.js": "text/javascript",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class BadRequest(PaperbenchError):
    """A request the page would never send: a missing or malformed parameter."""


def _static(name: str) -> bytes:
    return resources.files("paperbench.view").joinpath("static", name).read_bytes()


class ViewerState:
    """The runs folders, the runs found in them, and open line indexes; thread-safe."""

    def __init__(self, roots: Sequence[Path], reviewer: str) -> None:
        self.roots = [Path(root) for root in roots]
        self.reviewer = reviewer
        self._lock = threading.Lock()
        self._runs: dict[str, Path] = {}
        self._indexes: OrderedDict[Path, LineIndex] = OrderedDict()

    def runs(self) -> dict[str, Path]:
        found = catalog.discover(self.roots)
        with self._lock:
            self._runs = found
        return found

    def run(self, run_id: str) -> Path:
        """The run directory of an id handed out earlier (runs are looked for again once).

        Raises:
            UnknownRun: no such run.
        """
        with self._lock:
            path = self._runs.get(run_id)
        if path is None:
            path = self.runs().get(run_id)
        if path is None:
            raise catalog.UnknownRun(f"no run {run_id!r} under the folders being viewed")
        return path

    def index(self, path: Path) -> LineIndex:
        with self._lock:
            index = self._indexes.pop(path, None) or LineIndex(path)
            self._indexes[path] = index
            while len(self._indexes) > MAX_INDEXES:
                self._indexes.popitem(last=False)
            return index


class ViewServer(LocalServer):
    """Serve the viewer for ``roots`` on ``127.0.0.1:port`` (0: any free port).

    :meth:`start` serves from a background thread, :meth:`wait` blocks until it stops,
    :meth:`stop` ends it.

    Raises:
        PaperbenchError: a folder does not exist, or the port is taken (constructor).
    """

    def __init__(self, roots: Sequence[Path], port: int = 0, reviewer: str | None = None):
        for root in roots:
            if not Path(root).is_dir():
                raise PaperbenchError(f"{root}: no such runs folder; give a folder of runs")
        self.state = ViewerState(roots, reviewer or _user())
        self._listen(_handler_for(self), port, PaperbenchError)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


def _int(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = (query.get(name) or [str(default)])[0]
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    return min(max(value, low), high)


def _text(query: dict[str, list[str]], name: str, limit: int = 4096) -> str:
    values = query.get(name)
    if not values:
        raise BadRequest(f"missing parameter {name}")
    if len(values[0]) > limit:
        raise BadRequest(f"{name} is too long")
    return values[0]


class Api:
    """The viewer's data routes, apart from HTTP."""

    def __init__(self, server: ViewServer) -> None:
        self.server = server
        self.state = server.state

    def runs(self, query: dict[str, list[str]]) -> Any:
        rows = [
            catalog.row(run_id, catalog.RunFiles.read(path))
            for run_id, path in self.state.runs().items()
        ]
        return {
            "runs": rows,
            "roots": [str(root) for root in self.state.roots],
            "reviewer": self.state.reviewer,
        }

    def run(self, query: dict[str, list[str]]) -> Any:
        run_id = _text(query, "run")
        return catalog.overview(run_id, self.state.run(run_id))

    def tree(self, query: dict[str, list[str]]) -> Any:
        found = review(self.state.run(_text(query, "run")))

        def brief(summary: Any) -> dict[str, Any]:
            return {
                "score": summary.score,
                "score_if_invalid_passed": summary.score_if_invalid_passed,
                "items": summary.items,
                "invalid": len(summary.invalid),
            }

        return {
            "tree": found.tree,
            "judge": brief(found.judge),
            "reviewed": brief(found.reviewed),
            "overrides": len(found.overrides.overrides),
            "history": [event.model_dump(mode="json") for event in found.overrides.history],
            "reviewer": self.state.reviewer,
        }

    def transcript(self, query: dict[str, list[str]]) -> Any:
        path = self._file(query, "agent", "transcript.jsonl")
        index = self.state.index(path)
        start = _int(query, "start", 1, 1, 1 << 40)
        page = summaries(index, start, _int(query, "count", 200, 1, MAX_PAGE_LINES))
        if query.get("total"):
            page["total"] = index.line_count()[0]
        return page

    def event(self, query: dict[str, list[str]]) -> Any:
        path = self._file(query, "agent", "transcript.jsonl")
        try:
            return full_event(self.state.index(path), _int(query, "line", 1, 1, 1 << 40))
        except KeyError as error:
            raise FileMissing(str(error.args[0])) from None

    def transcript_search(self, query: dict[str, list[str]]) -> Any:
        path = self._file(query, "agent", "transcript.jsonl")
        needle = _text(query, "q", MAX_QUERY_CHARS)
        escaped = json.dumps(needle, ensure_ascii=False)[1:-1]
        found = self.state.index(path).search(
            needle, _int(query, "start", 1, 1, 1 << 40), escaped=escaped
        )
        return {"hits": [hit.number for hit in found.hits], "next": found.next}

    def text(self, query: dict[str, list[str]]) -> Any:
        located = locate(
            self.state.run(_text(query, "run")), _text(query, "area"), _text(query, "path")
        )
        if is_binary(located):
            return {"binary": True, "size": located.size, "lines": [], "next": None}
        index = self.state.index(located.path)
        page = index.read(
            _int(query, "start", 1, 1, 1 << 40), _int(query, "count", 500, 1, MAX_PAGE_LINES)
        )
        reply: dict[str, Any] = {
            "area": located.area,
            "path": located.relative,
            "size": page.size,
            "lines": [[line.number, line.text, line.cut] for line in page.lines],
            "next": page.next,
        }
        if query.get("total"):
            reply["total"] = index.line_count()[0]
        return reply

    def text_search(self, query: dict[str, list[str]]) -> Any:
        located = locate(
            self.state.run(_text(query, "run")), _text(query, "area"), _text(query, "path")
        )
        found = self.state.index(located.path).search(
            _text(query, "q", MAX_QUERY_CHARS), _int(query, "start", 1, 1, 1 << 40)
        )
        return {
            "hits": [[hit.number, hit.text, hit.cut] for hit in found.hits],
            "next": found.next,
            "scanned_bytes": found.scanned_bytes,
        }

    def files(self, query: dict[str, list[str]]) -> Any:
        return listing(self.state.run(_text(query, "run")), _text(query, "area"))

    def evidence(self, query: dict[str, list[str]]) -> Any:
        found = resolve_evidence(self.state.run(_text(query, "run")), _text(query, "ref"))
        return {
            "reference": found.reference,
            "area": found.located.area if found.located else None,
            "path": found.located.relative if found.located else None,
            "start": found.start,
            "end": found.end,
            "problem": found.problem,
        }

    def ledger(self, query: dict[str, list[str]]) -> Any:
        return catalog.ledger(self.state.run(_text(query, "run")))

    def leaderboard(self, query: dict[str, list[str]]) -> Any:
        from paperbench.runs.leaderboard import build_leaderboard, find_records

        records, superseded = find_records(self.state.roots)
        board = build_leaderboard(records, superseded=superseded)
        return json.loads(board.model_dump_json())

    def leaderboard_svg(self) -> bytes:
        from paperbench.runs.leaderboard import build_leaderboard, find_records
        from paperbench.runs.report import score_chart

        records, superseded = find_records(self.state.roots)
        return score_chart(build_leaderboard(records, superseded=superseded)).encode("utf-8")

    def override(self, body: dict[str, Any]) -> Any:
        run_dir = self.state.run(str(body.get("run", "")))
        score = body.get("score")
        if not isinstance(score, int | float) or isinstance(score, bool):
            raise OverrideError("the score must be a number")
        set_override(
            run_dir,
            str(body.get("path", "")),
            float(score),
            str(body.get("reason", "")),
            str(body.get("reviewer", "")),
        )
        return self.tree({"run": [str(body["run"])]})

    def remove(self, body: dict[str, Any]) -> Any:
        run_dir = self.state.run(str(body.get("run", "")))
        remove_override(
            run_dir,
            str(body.get("path", "")),
            str(body.get("reviewer", "")),
            str(body.get("reason", "")),
        )
        return self.tree({"run": [str(body["run"])]})

    def _file(self, query: dict[str, list[str]], area: str, name: str) -> Path:
        return locate(self.state.run(_text(query, "run")), area, name).path


STATUS = (
    (BadRequest, HTTPStatus.BAD_REQUEST),
    (catalog.UnknownRun, HTTPStatus.NOT_FOUND),
    (FileMissing, HTTPStatus.NOT_FOUND),
    (FileRefused, HTTPStatus.FORBIDDEN),
    (OverrideError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (PaperbenchError, HTTPStatus.BAD_REQUEST),
)


def _handler_for(server: ViewServer) -> type[BaseHTTPRequestHandler]:
    api = Api(server)
    reads: dict[str, Callable[[dict[str, list[str]]], Any]] = {
        "/api/runs": api.runs,
        "/api/run": api.run,
        "/api/run/tree": api.tree,
        "/api/run/transcript": api.transcript,
        "/api/run/event": api.event,
        "/api/run/transcript/search": api.transcript_search,
        "/api/run/text": api.text,
        "/api/run/text/search": api.text_search,
        "/api/run/files": api.files,
        "/api/run/evidence": api.evidence,
        "/api/run/ledger": api.ledger,
        "/api/leaderboard": api.leaderboard,
    }
    writes: dict[str, Callable[[dict[str, Any]], Any]] = {
        "/api/run/override": api.override,
        "/api/run/override/remove": api.remove,
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "paperbench-view"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: request lines would print the access token."""

        def do_GET(self) -> None:
            if not self._authorized():
                return
            route = urlsplit(self.path).path
            query = parse_qs(urlsplit(self.path).query)
            if route == "/":
                self._index()
            elif route.startswith("/static/") and route[8:] in STATIC_FILES:
                name = route[8:]
                self._send(HTTPStatus.OK, _static(name), f"{STATIC_FILES[name]}; charset=utf-8")
            elif route == "/api/leaderboard.svg":
                self._guarded(
                    lambda: self._send(HTTPStatus.OK, api.leaderboard_svg(), "image/svg+xml")
                )
            elif route in reads:
                self._guarded(lambda: self._json(reads[route](query)))
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n")

        def do_POST(self) -> None:
            if not self._authorized():
                return
            route = urlsplit(self.path).path
            if route not in writes:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n")
                return
            self._guarded(lambda: self._json(writes[route](self._body())))

        def _guarded(self, action: Callable[[], None]) -> None:
            try:
                action()
            except PaperbenchError as error:
                status = next(code for kind, code in STATUS if isinstance(error, kind))
                self._json({"error": str(error)}, status)
            except OSError as error:
                self._json({"error": f"cannot read: {error.strerror}"}, HTTPStatus.NOT_FOUND)

        def _authorized(self) -> bool:
            host = self.headers.get("Host", "")
            given = self.headers.get(TOKEN_HEADER) or ""
            if not given:
                given = (parse_qs(urlsplit(self.path).query).get("token") or [""])[0]
            if host in server.allowed_hosts() and hmac.compare_digest(
                given.encode(), server.token.encode()
            ):
                return True
            self.close_connection = True  # an unread body must not pass for the next request
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: missing or wrong access token\n")
            return False

        def _index(self) -> None:
            page = _static("index.html").decode("utf-8").replace("{{token}}", quote(server.token))
            self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")

        def _body(self) -> dict[str, Any]:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise BadRequest("bad Content-Length") from None
            if length > MAX_BODY_BYTES:
                raise BadRequest(f"request too large ({length} bytes)")
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                raise BadRequest("request body is not JSON") from None
            if not isinstance(body, dict):
                raise BadRequest("request body must be a JSON object")
            return body

        def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
            data = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
            self._send(status, data.encode("utf-8"), "application/json; charset=utf-8")

        def _send(
            self, status: HTTPStatus, body: bytes, content_type: str = "text/plain; charset=utf-8"
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", CSP)
            self.end_headers()
            self.wfile.write(body)

    return Handler
