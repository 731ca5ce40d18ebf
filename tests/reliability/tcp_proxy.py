"""A TCP proxy the tests can hold: what a client sends is not passed on while it is paused.

Put between a function and an emulator, it freezes one direction of the function's
calls at a chosen moment (after a write, before a publish) without touching either
side's code, so that a kill lands exactly there.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from shared.tools.functions import LOOPBACK

_CHUNK = 64 * 1024


class TcpProxy:
    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._listener = socket.create_server((LOOPBACK, 0))
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self._listener.getsockname()[1]}"

    def pause(self) -> None:
        """Hold everything clients send from now on (what the upstream answers still flows)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((LOOPBACK, self._upstream_port))
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, holdable: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(_CHUNK):
                if holdable:
                    self._flowing.wait()
                if self._closed.is_set():
                    return
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def tcp_proxy(upstream_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
