"""Run the FastAPI app with uvicorn on a thread of the node process."""

from __future__ import annotations

import threading
import time

import uvicorn

from node.runtime import Runtime


class WebStartError(RuntimeError):
    """uvicorn did not start listening."""


class WebServer:
    def __init__(self, runtime: Runtime) -> None:
        from node.web.app import create_app

        s = runtime.settings.web
        tls: dict[str, str] = {}
        if s.tls_certificate is not None:  # HTTPS: the app then also sends Strict-Transport-Security
            tls = {"ssl_certfile": str(s.tls_certificate)}
            if s.tls_private_key is not None:
                tls["ssl_keyfile"] = str(s.tls_private_key)
        config = uvicorn.Config(
            create_app(runtime),
            host=s.host,
            port=s.port,
            log_level=None,  # levels are set by node/logs.py (uvicorn at warning unless debugging)
            access_log=False,
            lifespan="on",
            log_config=None,  # uvicorn's loggers propagate to the node's handler (node/logs.py)
            **tls,  # type: ignore[arg-type]
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    def start(self) -> None:
        """Serve on a thread; raise :class:`WebStartError` when uvicorn could not listen (the port in use)."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.05)
        if not self.server.started:
            self.stop()
            c = self.server.config
            raise WebStartError(f"the web app did not start on {c.host}:{c.port} (is the port in use?)")

    @property
    def port(self) -> int:
        servers = getattr(self.server, "servers", [])
        for srv in servers:
            for sock in srv.sockets:
                return int(sock.getsockname()[1])
        return 0

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
