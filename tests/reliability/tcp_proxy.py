"""A TCP proxy the tests can hold: what a client sends, or what it is answered, is not passed
on while that direction is paused.

Put between a function and an emulator, it freezes one direction of the function's
calls at a chosen moment (after a write, before a publish; a publish that landed but
whose answer never came) without touching either side's code, so that a kill lands
exactly there. Put between a client and a function, it keeps the function's answers
from the client.
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
        self._answering = threading.Event()
        self._answering.set()
        # Bytes passed upstream so far: a request that reached the server.
        self.sent = 0
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

    def hold_answers(self) -> None:
        """Hold everything the upstream answers from now on (what clients send still flows)."""
        self._answering.clear()

    def release_answers(self) -> None:
        self._answering.set()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._answering.set()
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
        # holdable: the client's direction, held by pause(); the other by hold_answers().
        with contextlib.suppress(OSError):
            while chunk := source.recv(_CHUNK):
                (self._flowing if holdable else self._answering).wait()
                if self._closed.is_set():
                    return
                target.sendall(chunk)
                if holdable:
                    self.sent += len(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def tcp_proxy(upstream_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
