"""The rubric editor's local web server: one rubric file, one browser tab, loopback only.

Guarantees:

* **Loopback only.** The server binds ``127.0.0.1`` and answers only requests whose ``Host``
  names the loopback address or ``localhost`` with its port, so a web page elsewhere cannot
  reach it through DNS rebinding.
* **A secret in the URL.** Every request (page, script, API) must carry the random access
  token made at start, in the ``token`` query parameter or the ``X-Paperbench-Token`` header;
  any other request gets ``403``. Pages are served with ``Referrer-Policy: no-referrer`` and a
  content security policy that allows only this server's own script and styles, so the token
  does not leak to other sites.
* **Saves are atomic and never clobber.** A save names the file version (SHA-256 of its bytes)
  that the editor loaded or last wrote. If the file on disk is no longer that version —
  another editor, ``git checkout``, a colleague's tool — the save is refused with ``409`` and
  the file is left alone. Otherwise the tree is validated (a rubric with errors is refused with
  ``422``: the file on disk stays gradable) and written with
  :func:`paperbench.rubric.io.save_rubric` (temporary file + rename), in PaperBench's JSON
  layout, unknown keys kept.
* **One source of truth for checks.** Validation, lint and each node's effective share are
  computed here by the same code as ``paperbench rubric validate``/``lint``/``show``; the page
  only displays them.

A check of a moment-old tree is cheap (the 2,551-node ``pinn`` rubric lints in under a
second), so the page simply posts the whole tree after each edit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from paperbench.errors import RubricError
from paperbench.local_http import LocalServer
from paperbench.rubric.io import dump_rubric, read_json, save_rubric
from paperbench.rubric.lint import RULES, LintConfig, lint_data
from paperbench.rubric.model import FINEGRAINED_TASK_CATEGORIES, TASK_CATEGORIES
from paperbench.rubric.stats import effective_shares

TOKEN_HEADER = "X-Paperbench-Token"
MAX_BODY_BYTES = 64 * 1024 * 1024
STATIC_FILES = {
    "editor-model.js": "text/javascript",
    "editor.js": "text/javascript",
    "editor.css": "text/css",
}


def file_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SaveRefused(RubricError):
    """A save that would lose work or write an invalid rubric; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: HTTPStatus, details: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.details = details or []


@dataclass
class EditorSession:
    """The rubric file being edited; thread-safe."""

    path: Path
    lint_config: LintConfig = field(default_factory=LintConfig)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(self) -> dict[str, Any]:
        """The file as the editor starts from it: parsed JSON and its version.

        Raises:
            RubricError: the file is missing or not JSON.
        """
        with self._lock:
            raw = self._read_bytes()
            tree = read_json(self.path)
        return {
            "path": str(self.path),
            "version": file_version(raw),
            "tree": tree,
            "categories": list(TASK_CATEGORIES),
            "finegrained_categories": list(FINEGRAINED_TASK_CATEGORIES),
            "rules": RULES,
        }

    def check(self, data: Any) -> dict[str, Any]:
        """Validation problems, lint advice and effective shares of an edited tree."""
        report = lint_data(data, self.path, self.lint_config)
        return {
            "valid": report.tree is not None and not report.errors,
            "problems": [
                {
                    "path": problem.path,
                    "field": problem.field,
                    "message": problem.message,
                    "allowed": problem.allowed,
                    "severity": problem.severity,
                    "line": problem.describe(with_source=False),
                }
                for problem in report.problems
            ],
            "advice": [item.to_json() for item in report.advice],
            "shares": effective_shares(report.tree) if report.tree is not None else {},
        }

    def save(self, data: Any, base_version: str) -> dict[str, Any]:
        """Write ``data`` if the file is still at ``base_version``; return the new version.

        Raises:
            SaveRefused: the file changed on disk (409) or the tree has errors (422).
        """
        with self._lock:
            current = file_version(self._read_bytes())
            if not hmac.compare_digest(current, base_version):
                raise SaveRefused(
                    f"{self.path} changed on disk since the editor opened it; nothing was "
                    "written. Reload to edit the new version, or download your version and "
                    "merge by hand",
                    HTTPStatus.CONFLICT,
                )
            report = lint_data(data, self.path, self.lint_config)
            if report.tree is None or report.errors:
                lines = [problem.describe(with_source=False) for problem in report.errors]
                raise SaveRefused(
                    f"not saved: the rubric has {len(lines)} errors; fix them first "
                    f"(first: {lines[0] if lines else 'not a rubric'})",
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    lines,
                )
            save_rubric(report.tree, self.path)
            version = file_version(dump_rubric(report.tree).encode("utf-8"))
        return {"version": version, "path": str(self.path)}

    def _read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as error:
            raise RubricError(f"{self.path}: cannot read rubric: {error}") from None


def _static(name: str) -> bytes:
    return resources.files("paperbench.rubric.editor").joinpath("static", name).read_bytes()


class EditorServer(LocalServer):
    """Serve the editor for one rubric file on ``127.0.0.1:port`` (0: any free port).

    :meth:`start` serves from a background thread; :meth:`wait` blocks until it stops;
    :meth:`stop` ends it. The browser is opened only once the server answers.

    Raises:
        RubricError: the file cannot be read as JSON (raised by the constructor), or the port
            is taken.
    """

    def __init__(self, path: Path, port: int = 0, lint_config: LintConfig | None = None):
        self.session = EditorSession(path, lint_config or LintConfig())
        self.session.load()
        self._listen(_handler_for(self), port, RubricError)


def _handler_for(server: EditorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "paperbench-rubric-editor"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: request lines would print the access token."""

        def do_GET(self) -> None:
            self._dispatch(
                {
                    "/": self._index,
                    "/api/rubric": lambda: self._json(server.session.load()),
                    **{f"/static/{name}": self._asset(name) for name in STATIC_FILES},
                }
            )

        def do_POST(self) -> None:
            self._dispatch({"/api/check": self._check, "/api/save": self._save})

        def _dispatch(self, routes: dict[str, Callable[[], None]]) -> None:
            if not self._authorized():
                self._send(HTTPStatus.FORBIDDEN, b"forbidden: missing or wrong access token\n")
                return
            route = routes.get(urlsplit(self.path).path)
            if route is None:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n")
                return
            try:
                route()
            except SaveRefused as error:
                self._json({"error": str(error), "details": error.details}, error.status)
            except RubricError as error:
                self._json({"error": str(error)}, HTTPStatus.BAD_REQUEST)

        def _authorized(self) -> bool:
            host = self.headers.get("Host", "")
            if host not in server.allowed_hosts():
                return False
            given = self.headers.get(TOKEN_HEADER) or ""
            if not given:
                given = (parse_qs(urlsplit(self.path).query).get("token") or [""])[0]
            return hmac.compare_digest(given.encode(), server.token.encode())

        def _index(self) -> None:
            page = _static("index.html").decode("utf-8")
            page = page.replace("{{token}}", quote(server.token))
            page = page.replace("{{path}}", _html_text(str(server.session.path)))
            self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")

        def _asset(self, name: str) -> Callable[[], None]:
            return lambda: self._send(
                HTTPStatus.OK, _static(name), f"{STATIC_FILES[name]}; charset=utf-8"
            )

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise RubricError(f"request too large ({length} bytes)")
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                raise RubricError("request body is not JSON") from None
            except RecursionError:
                raise RubricError("request body is nested too deeply to read") from None
            if not isinstance(body, dict) or "tree" not in body:
                raise RubricError('request body must be {"tree": ...}')
            return body

        def _check(self) -> None:
            self._json(server.session.check(self._body()["tree"]))

        def _save(self) -> None:
            body = self._body()
            self._json(server.session.save(body["tree"], str(body.get("version") or "")))

        def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
            data = json.dumps(value, ensure_ascii=False).encode("utf-8")
            self._send(status, data, "application/json; charset=utf-8")

        def _send(
            self, status: HTTPStatus, body: bytes, content_type: str = "text/plain; charset=utf-8"
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'",
            )
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _html_text(text: str) -> str:
    import html

    return html.escape(text, quote=True)
