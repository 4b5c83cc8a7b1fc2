"""A browser-facing HTTP server on this machine: the rubric editor's and the run viewer's.

It listens on 127.0.0.1 only, serves each request in a thread, and carries a random token that
every route checks (the handlers do that, with :meth:`LocalServer.allowed_hosts` against DNS
rebinding); the URL printed for the user holds the token.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from paperbench.errors import PaperbenchError

HOST = "127.0.0.1"


class LocalServer:
    """The listening, token, start/wait/stop and host checks both servers share."""

    def _listen(
        self,
        handler: type[BaseHTTPRequestHandler],
        port: int,
        error: type[PaperbenchError] = PaperbenchError,
    ) -> None:
        """Bind ``handler`` on :data:`HOST`:``port`` (0: any free port).

        Raises:
            error: the port is taken or cannot be bound, with what to do about it.
        """
        self.token = secrets.token_urlsafe(32)
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), handler)
        except OSError as failure:
            raise error(
                f"cannot listen on {HOST}:{port}: {failure.strerror}; choose another --port"
            ) from None
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={quote(self.token)}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def wait(self) -> None:
        """Block until the server stops (a ``KeyboardInterrupt`` interrupts the wait)."""
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._thread is not None and self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def allowed_hosts(self) -> set[str]:
        return {f"{HOST}:{self.port}", f"localhost:{self.port}"}
