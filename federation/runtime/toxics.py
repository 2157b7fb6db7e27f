"""A TCP proxy on loopback that makes a link slow, as Toxiproxy's `latency` toxic does (latency, jitter): every
chunk of data that passes is delivered `latency_ms` (± `jitter_ms`) after it arrived, in order, in both
directions, without holding up the chunks behind it (a slow link, not a slow server).

Fault scenarios put one in front of a state's server and point the federation's directory at it: the state then
answers as if it were far away. It listens on 127.0.0.1 only and stops with `close()` (or its `with` block); its
threads are daemons, so it never keeps a process alive.
"""

from __future__ import annotations

import queue
import random
import socket
import threading
import time
from types import TracebackType
from typing import Self

_CHUNK = 65536


class LatencyProxy:
    """Forwards 127.0.0.1:`port` to `upstream` ("host:port") with a delay on every chunk."""

    def __init__(self, upstream: str, latency_ms: float, jitter_ms: float = 0.0, seed: int = 0) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.latency_ms, self.jitter_ms = latency_ms, jitter_ms
        self._random = random.Random(seed)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="latency-proxy", daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _delay_s(self) -> float:
        jitter = self._random.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                downstream, _ = self._listener.accept()
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                continue
            upstream.settimeout(None)
            self._sockets += [downstream, upstream]
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
                threading.Thread(target=self._read, args=(source, chunks), daemon=True).start()
                threading.Thread(target=self._deliver, args=(sink, chunks), daemon=True).start()

    def _read(self, source: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            try:
                data = source.recv(_CHUNK)
            except OSError:
                data = b""
            chunks.put((time.monotonic() + self._delay_s(), data))
            if not data:
                return

    def _deliver(self, sink: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            due, data = chunks.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self._closed.set()
        for sock in [self._listener, *self._sockets]:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
