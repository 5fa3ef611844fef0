"""Run the FastAPI app with uvicorn on a thread of the node process."""

from __future__ import annotations

import threading
import time

import uvicorn

from node.runtime import Runtime


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
            log_level="warning",
            access_log=False,
            lifespan="on",
            **tls,  # type: ignore[arg-type]
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.05)

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
