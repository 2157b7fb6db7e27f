"""The latency proxy of fault scenarios (federation/runtime/toxics.py): a chunk arrives `latency_ms` later each way,
chunks behind it are not held up by it, and closing it ends its connections."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from prum.federation.runtime.toxics import LatencyProxy, ToxicProxy


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


def test_a_timeout_toxic_is_a_silent_peer_that_closes_after_its_timeout() -> None:
    server, address = echo_server()
    try:
        with ToxicProxy(address, "timeout", timeout_ms=300) as proxy, \
                socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
            started = time.monotonic()
            client.sendall(b"hello")
            assert client.recv(1024) == b""  # nothing comes back; the connection closes after the timeout
            assert 0.25 < time.monotonic() - started < 2
        with ToxicProxy(address, "timeout") as silent, \
                socket.create_connection(("127.0.0.1", silent.port), timeout=0.5) as client:
            client.sendall(b"hello")
            with pytest.raises(TimeoutError):  # timeout 0: held open for good, never a byte
                client.recv(1024)
    finally:
        server.close()


def test_a_reset_peer_toxic_resets_every_connection() -> None:
    server, address = echo_server()
    try:
        with ToxicProxy(address, "reset_peer") as proxy:
            for _ in range(2):
                with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
                    time.sleep(0.1)
                    with pytest.raises(ConnectionResetError):
                        client.sendall(b"hello")
                        client.recv(1024)
    finally:
        server.close()


def test_a_bandwidth_toxic_passes_at_most_its_rate() -> None:
    server, address = echo_server()
    payload = b"x" * 16 * 1024
    try:
        with ToxicProxy(address, "bandwidth", rate_kb=32) as proxy, \
                socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
            started = time.monotonic()
            client.sendall(payload)
            received = b""
            while len(received) < len(payload):
                received += client.recv(65536)
            elapsed = time.monotonic() - started
            assert received == payload
            assert 0.45 < elapsed < 3, elapsed  # 16 KB at 32 KB/s: half a second one way (and again the way back)
    finally:
        server.close()


def test_an_unknown_toxic_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown toxic 'slicer'; allowed: latency, bandwidth, timeout, reset_peer"):
        ToxicProxy("127.0.0.1:1", "slicer")
