"""A TCP proxy on loopback that damages a link as Toxiproxy's toxics do, by the same names and semantics:

- `latency` (latency, jitter): every chunk of data that passes is delivered `latency_ms` (± `jitter_ms`) after it
  arrived, in order, in both directions, without holding up the chunks behind it (a slow link, not a slow server);
- `bandwidth` (rate): each direction passes at most `rate_kb` kilobytes per second;
- `timeout` (timeout): nothing gets through (a silent peer); the connection is closed after `timeout_ms`, or held
  open for good when it is 0;
- `reset_peer` (timeout): the connection is reset (TCP RST, "connection reset by peer") at once, or after
  `timeout_ms` (a dropped connection; every new one dropped too).

No kept Python implementation of Toxiproxy installs from the registries (PyPI's `toxiproxy-python` and the Chaos
Toolkit extensions are clients of Toxiproxy's Go server), so this small proxy keeps its names instead.

Fault scenarios put one in front of a state's server and point a directory at it: the state then answers as if it
were far away, or not at all. It listens on 127.0.0.1 only and stops with `close()` (or its `with` block); its
threads are daemons, so it never keeps a process alive.
"""

from __future__ import annotations

import queue
import random
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Self

_CHUNK = 65536
#: Toxiproxy's toxic names this proxy knows, each with the attributes it takes (milliseconds, kilobytes/s).
TOXICS: dict[str, tuple[str, ...]] = {
    "latency": ("latency", "jitter"),
    "bandwidth": ("rate",),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
}


class ToxicProxy:
    """Forwards 127.0.0.1:`port` to `upstream` ("host:port") through one toxic (`TOXICS`)."""

    def __init__(self, upstream: str, toxic: str = "latency", *, latency_ms: float = 0.0, jitter_ms: float = 0.0,
                 rate_kb: float = 0.0, timeout_ms: float = 0.0, seed: int = 0) -> None:
        if toxic not in TOXICS:
            raise ValueError(f"unknown toxic {toxic!r}; allowed: {', '.join(TOXICS)}")
        if toxic == "bandwidth" and rate_kb <= 0:
            raise ValueError(f"bandwidth: rate {rate_kb!r} KB/s; allowed: more than 0")
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.toxic = toxic
        self.latency_ms, self.jitter_ms = latency_ms, jitter_ms
        self.rate_kb, self.timeout_ms = rate_kb, timeout_ms
        self._random = random.Random(seed)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name=f"{toxic}-proxy", daemon=True).start()

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
            except OSError:
                continue
            self._sockets.append(downstream)
            if self.toxic in ("timeout", "reset_peer"):
                threading.Thread(target=self._cut, args=(downstream,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                downstream.close()
                continue
            upstream.settimeout(None)
            self._sockets.append(upstream)
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
                threading.Thread(target=self._read, args=(source, chunks), daemon=True).start()
                threading.Thread(target=self._deliver, args=(sink, chunks), daemon=True).start()

    def _cut(self, downstream: socket.socket) -> None:
        """`timeout`: swallow what comes and close after the timeout (never when 0); `reset_peer`: reset the
        connection (SO_LINGER 0 makes the close a TCP RST) at once or after the timeout."""
        deadline = time.monotonic() + self.timeout_ms / 1000 if self.timeout_ms else None
        if self.toxic == "reset_peer" and deadline is not None:
            time.sleep(max(0.0, deadline - time.monotonic()))
        elif self.toxic == "timeout":
            downstream.settimeout(0.05)
            while not self._closed.is_set() and (deadline is None or time.monotonic() < deadline):
                try:
                    if not downstream.recv(_CHUNK):
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
        try:
            if self.toxic == "reset_peer":
                downstream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            downstream.close()
        except OSError:
            pass

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
                if self.toxic == "bandwidth":  # at most rate_kb per second: send a slice, wait its share
                    for start in range(0, len(data), 1024):
                        piece = data[start:start + 1024]
                        sink.sendall(piece)
                        time.sleep(len(piece) / (self.rate_kb * 1024))
                else:
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


class LatencyProxy(ToxicProxy):
    """A `latency` toxic: forwards 127.0.0.1:`port` to `upstream` with a delay on every chunk."""

    def __init__(self, upstream: str, latency_ms: float, jitter_ms: float = 0.0, seed: int = 0) -> None:
        super().__init__(upstream, "latency", latency_ms=latency_ms, jitter_ms=jitter_ms, seed=seed)
