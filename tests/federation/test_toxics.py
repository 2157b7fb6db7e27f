"""The latency proxy of fault scenarios (federation/runtime/toxics.py): a chunk arrives `latency_ms` later each way,
chunks behind it are not held up by it, and closing it ends its connections."""

from __future__ import annotations

import socket
import threading
import time

from prum.federation.runtime.toxics import LatencyProxy


def echo_server() -> tuple[socket.socket, str]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                while data := connection.recv(1024):
                    connection.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return server, f"127.0.0.1:{server.getsockname()[1]}"


def test_each_way_is_delayed_and_chunks_are_not_queued_behind_each_other() -> None:
    server, address = echo_server()
    try:
        with LatencyProxy(address, latency_ms=100) as proxy, \
                socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
            started = time.monotonic()
            for number in range(5):  # five chunks sent at once: one latency each way, not five
                client.sendall(f"{number}".encode())
                time.sleep(0.005)
            received = b""
            while len(received) < 5:
                received += client.recv(1024)
            elapsed = time.monotonic() - started
            assert received == b"01234"
            assert 0.19 < elapsed < 0.6, elapsed
    finally:
        server.close()
