"""The fault-injection proxy, against a tiny echo server on the loopback interface."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.kit.support.proxy import FaultProxy


class EchoServer:
    """Sends back whatever it receives; counts the connections it has seen."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.connections = 0
        self.threads: list[threading.Thread] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.accepting.join(timeout=5)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", echo.port) as proxy:
        yield proxy


def connect(proxy: FaultProxy, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def receive(sock: socket.socket, size: int) -> bytes:
    """`size` bytes, or fewer if the stream ends first."""
    received = b""
    while len(received) < size and (chunk := sock.recv(65536)):
        received += chunk
    return received


def first_bytes(proxy: FaultProxy) -> bytes:
    with connect(proxy) as sock:
        return sock.recv(10)


def round_trip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    return receive(sock, len(data))


def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_forwards_both_ways_and_counts(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        assert round_trip(sock, b"hello") == b"hello"
        big = bytes(range(256)) * 4096  # 1 MiB: more than one chunk, more than the buffer
        assert round_trip(sock, big) == big
        assert proxy.accepted == 1
        assert proxy.live == 1
    wait_for(lambda: proxy.live == 0)


def test_one_round_trip_is_one_flight(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        for n in range(3):
            round_trip(sock, f"request {n}".encode())
        assert proxy.flights == 3
        proxy.black_hole()  # hold the data so that both sends go before any answer
        sock.sendall(b"one ")
        sock.sendall(b"flight")
        time.sleep(0.05)  # the proxy's loop reads what is held: let it see both sends
        proxy.heal()
        assert receive(sock, 10) == b"one flight"
        assert proxy.flights == 4


def test_a_flush_alone_is_not_a_flight(proxy: FaultProxy) -> None:
    flush = b"H\x00\x00\x00\x04"  # what psycopg sends at a pipeline's end
    with connect(proxy) as sock:
        round_trip(sock, b"request")
        assert round_trip(sock, flush) == flush  # the echo server answers even that
        assert proxy.flights == 1
        round_trip(sock, b"another request")
        assert proxy.flights == 2


def test_latency_is_added_each_way(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        round_trip(sock, b"warm")
        proxy.latency(0.1)
        started = time.monotonic()
        assert round_trip(sock, b"slow") == b"slow"
        assert 0.2 <= time.monotonic() - started < 0.6
        proxy.heal()
        started = time.monotonic()
        round_trip(sock, b"fast")
        assert time.monotonic() - started < 0.1


def test_close_all_sends_a_fin(proxy: FaultProxy) -> None:
    with connect(proxy) as first, connect(proxy) as second:
        round_trip(first, b"a")
        round_trip(second, b"b")
        proxy.close_all()
        assert first.recv(10) == b""  # end of stream, not ConnectionResetError
        assert second.recv(10) == b""
        assert proxy.live == 0
    with connect(proxy) as third:
        assert round_trip(third, b"new") == b"new"


def test_refuse_then_reopen_after_seconds(proxy: FaultProxy) -> None:
    with connect(proxy) as existing:
        proxy.refuse(0.3)
        with pytest.raises(ConnectionRefusedError):
            connect(proxy)
        assert round_trip(existing, b"still") == b"still"  # only new connections are refused
        time.sleep(0.4)
        with connect(proxy) as sock:
            assert round_trip(sock, b"back") == b"back"


@pytest.mark.parametrize("undo", ["accept", "heal"])
def test_refuse_until_accept_or_heal(proxy: FaultProxy, undo: str) -> None:
    proxy.refuse()  # done when it returns: the proxy's loop ran it
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)
    getattr(proxy, undo)()
    with connect(proxy) as sock:
        assert round_trip(sock, b"open") == b"open"


def test_black_hole_stalls_without_closing(proxy: FaultProxy, echo: EchoServer) -> None:
    with connect(proxy, timeout=0.3) as existing:
        round_trip(existing, b"warm")
        proxy.black_hole()
        existing.sendall(b"lost?")
        with pytest.raises(TimeoutError):  # no data, and no FIN or RST either
            existing.recv(10)
        with connect(proxy, timeout=0.3) as new:  # accepted, but never answered
            new.sendall(b"anyone?")
            with pytest.raises(TimeoutError):
                new.recv(10)
            proxy.heal()  # like TCP retransmission: what was held now arrives
            assert new.recv(10) == b"anyone?"
        assert existing.recv(10) == b"lost?"


def test_reset_now(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        round_trip(sock, b"warm")
        proxy.reset()  # the RST is on its way (loopback: already here) when it returns
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
    assert proxy.live == 0


def test_reset_after_bytes_from_the_server(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        round_trip(sock, b"warm")
        proxy.reset(after_bytes=3)
        sock.sendall(b"0123456789")
        with pytest.raises(ConnectionResetError):
            receive(sock, 10)  # at most b"012" arrives (an RST may discard it), then the reset


def test_reset_before_the_request_reaches_the_server(echo: EchoServer) -> None:
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            try:
                while data := conn.recv(100):
                    received.append(data)
                    conn.sendall(data)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with FaultProxy("127.0.0.1", listener.getsockname()[1]) as proxy, connect(proxy) as sock:
        round_trip(sock, b"warm")
        proxy.reset(0, from_client=True)
        sock.sendall(b"write")
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
    thread.join(timeout=2)
    listener.close()
    assert received == [b"warm"]


def test_a_refusing_target_resets_the_client() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connections are refused
        with FaultProxy("127.0.0.1", port) as proxy:
            # the reset can beat the client's own connect() to the finish: either raises it
            with pytest.raises(ConnectionResetError):
                first_bytes(proxy)
            assert proxy.accepted == 1


def proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("FaultProxy")]


def test_close_leaves_no_thread_and_no_listener(echo: EchoServer) -> None:
    before = proxy_threads()
    proxy = FaultProxy("127.0.0.1", echo.port)
    sock = connect(proxy)
    round_trip(sock, b"x")
    assert len(proxy_threads()) == len(before) + 1
    proxy.close()
    assert sock.recv(10) == b""
    sock.close()
    assert proxy_threads() == before
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)
    with pytest.raises(RuntimeError, match="closed"):
        proxy.black_hole()


def test_idle_proxy_does_not_spin(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        round_trip(sock, b"x")
        proxy.black_hole()  # also idle: nothing registered, no timeout
        started = time.process_time()
        time.sleep(0.5)
        assert time.process_time() - started < 0.05
        proxy.heal()
        proxy.latency(0.05)
        started = time.process_time()
        time.sleep(0.5)
        assert time.process_time() - started < 0.05
