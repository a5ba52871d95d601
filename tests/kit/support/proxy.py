"""A TCP proxy that injects network faults, for tests and benchmarks.

    with FaultProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"
        proxy.latency(0.02)      # 20 ms each way, per chunk
        proxy.black_hole()       # nothing moves, nothing closes: clients just wait
        proxy.heal()

One thread runs a selector loop over every socket; faults are switched from other threads
by handing the loop a command and waiting until it has run, so when `close_all()` returns
the connections are closed. Counters: `accepted`, `live` and `flights` (client->server
request flights: client data after the server last spoke, so one round trip is one flight).
"""

from __future__ import annotations

import collections
import contextlib
import errno
import queue
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")

_CHUNK = 65536
_HIGH_WATER = 1 << 20  # stop reading a side while this much is waiting for the other
_REOPEN_RETRY = 0.05  # seconds between attempts to listen again on the same port
_FLUSH = b"H\x00\x00\x00\x04"  # PostgreSQL's Flush message: send what you have


class FaultProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port`; faults switchable at run time."""

    def __init__(self, target_host: str, target_port: int, *, name: str = "proxy") -> None:
        self.target = (target_host, target_port)
        self.accepted = 0  # connections accepted since start
        self.flights = 0  # client->server request flights, over all connections
        self.flushes = 0  # Flush messages clients sent (a pooler may link a server for one)
        self._links: set[_Link] = set()
        self._latency = 0.0
        self._paused = False  # black hole: nothing read, nothing written, nothing closed
        self._reopen_at: float | None = None  # refusing: listen again at this time (or never)
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._stopping = False
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._listener: socket.socket | None = None
        self.port = self._listen(0)
        self._thread = threading.Thread(
            target=self._run, name=f"FaultProxy-{name}-{self.port}", daemon=True
        )
        self._thread.start()

    # -- the public surface (called from any thread) --------------------------------------

    @property
    def live(self) -> int:
        """Connections currently open through the proxy."""
        return len(self._links)

    def latency(self, seconds: float) -> None:
        """Delay every chunk by `seconds`, in each direction (0 for none)."""
        if seconds < 0:
            raise ValueError(f"latency must be >= 0, got {seconds!r}")
        self._call(lambda: setattr(self, "_latency", float(seconds)))

    def close_all(self) -> None:
        """Close every current connection gracefully (FIN to both ends)."""
        self._call(self._close_all)

    def refuse(self, seconds: float | None = None) -> None:
        """Refuse new connections (ECONNREFUSED) for `seconds`, or until `accept()`/`heal()`."""
        self._call(lambda: self._refuse(seconds))

    def accept(self) -> None:
        """Accept new connections again (undoes `refuse()`)."""
        self._call(self._reopen)

    def black_hole(self) -> None:
        """Stop forwarding in both directions, on existing and new connections, without
        closing anything: no FIN, no RST, clients just wait. `heal()` lets data flow again."""
        self._call(lambda: setattr(self, "_paused", True))

    def reset(self, after_bytes: int | None = None, *, from_client: bool = False) -> None:
        """Reset current connections (RST to both ends) now, or once `after_bytes` more bytes
        from the server (from the client with `from_client=True`) have been passed on; the
        rest is dropped, so `reset(0, from_client=True)` loses the next request before the
        server sees any of it, and `reset(0)` loses the server's next answer."""
        if after_bytes is not None and after_bytes < 0:
            raise ValueError(f"after_bytes must be >= 0 or None, got {after_bytes!r}")
        self._call(lambda: self._reset(after_bytes, from_client))

    def heal(self) -> None:
        """Back to normal: no latency, accepting, forwarding, no pending resets."""

        def heal() -> None:
            self._latency = 0.0
            self._paused = False
            for link in self._links:
                link.reset_after = None
            self._reopen()

        self._call(heal)

    def close(self) -> None:
        """Stop the proxy: every connection and the listening socket closed, the thread joined."""
        if self._thread.is_alive():
            self._stopping = True
            self._wake()
            self._thread.join(timeout=10)
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        host, port = self.target
        return f"<FaultProxy 127.0.0.1:{self.port} -> {host}:{port}, {self.live} live>"

    # -- commands: run on the loop thread ------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        if self._stopping or not self._thread.is_alive():
            raise RuntimeError("the proxy is closed")
        command = _Command(fn)
        self._commands.put(command)
        self._wake()
        if not command.done.wait(timeout=10):
            raise RuntimeError("the proxy's loop did not answer within 10 s")
        if command.error is not None:
            raise command.error
        return command.result  # type: ignore[return-value]

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"\0")

    def _close_all(self) -> None:
        for link in list(self._links):
            self._drop(link, graceful=True)

    def _refuse(self, seconds: float | None) -> None:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
        self._reopen_at = None if seconds is None else time.monotonic() + seconds

    def _reopen(self) -> None:
        self._reopen_at = None
        if self._listener is None:
            self._listen(self.port)

    def _reset(self, after_bytes: int | None, from_client: bool) -> None:
        for link in list(self._links):
            if after_bytes is None:
                self._drop(link, graceful=False)
            else:
                link.reset_after = after_bytes
                link.reset_from_client = from_client

    # -- the loop ------------------------------------------------------------------------

    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(128)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, None)
        return int(listener.getsockname()[1])

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._step()
        finally:
            for link in list(self._links):
                self._drop(link, graceful=True)
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            self._selector.close()

    def _step(self) -> None:
        now = time.monotonic()
        if self._reopen_at is not None and now >= self._reopen_at:
            try:
                self._reopen()
            except OSError:  # the port is still held: try again shortly
                self._reopen_at = now + _REOPEN_RETRY
        wakeups = [self._reopen_at] if self._reopen_at is not None else []
        for link in self._links:
            wakeups += self._update_interest(link, now)
        timeout = None if not wakeups else max(0.0, min(wakeups) - now)
        for key, mask in self._selector.select(timeout):
            if key.fileobj is self._wake_r:
                self._run_commands()
            elif key.fileobj is self._listener:
                self._accept()
            else:
                link, pipe_in, pipe_out = key.data
                if link not in self._links:
                    continue  # dropped earlier in this round
                if mask & selectors.EVENT_WRITE:
                    self._writable(link, pipe_in)
                if mask & selectors.EVENT_READ and link in self._links:
                    self._readable(link, pipe_out)

    def _run_commands(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_r.recv(4096):
                pass
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command.result = command.fn()
            except Exception as exc:
                command.error = exc
            command.done.set()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. too many open files: the client waits in the backlog
            self.accepted += 1
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            for sock in (client, server):
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, server)
            self._links.add(link)
            error = server.connect_ex(self.target)  # completes (or fails) when writable
            if error not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                self._drop(link, graceful=False)  # the target refused: so does the proxy

    def _update_interest(self, link: _Link, now: float) -> list[float]:
        """Register what each socket waits for; return the times a delayed chunk falls due."""
        wakeups: list[float] = []
        for sock, pipe_out, pipe_in in (
            (link.client, link.up, link.down),
            (link.server, link.down, link.up),
        ):
            events = 0
            if not self._paused:
                if pipe_out.wants_read():
                    events |= selectors.EVENT_READ
                if sock is link.server and not link.connected:
                    events |= selectors.EVENT_WRITE
                elif pipe_in.chunks and not pipe_in.shut:
                    due = pipe_in.chunks[0][0]
                    if due <= now:
                        events |= selectors.EVENT_WRITE
                    else:
                        wakeups.append(due)
            link.want(self._selector, sock, events, (link, pipe_in, pipe_out))
        return wakeups

    def _readable(self, link: _Link, pipe: _Pipe) -> None:
        try:
            data = pipe.src.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(link, graceful=False)  # a reset travels on as a reset
            return
        if not data:
            pipe.eof = True
            self._flush_eof(link, pipe)
            return
        from_client = pipe is link.up
        if from_client:
            self.flushes += data.count(_FLUSH)
        # A Flush alone (psycopg sends one at the end of a pipeline, while the answers are on
        # their way) asks for nothing new: it is not a request flight.
        if not (from_client and data.replace(_FLUSH, b"") == b""):
            if from_client and link.server_spoke_last:
                self.flights += 1
            link.server_spoke_last = not from_client
        if link.reset_after is not None and link.reset_from_client == from_client:
            if len(data) >= link.reset_after:
                data = data[: link.reset_after]
                link.reset_after, link.reset_pending = None, pipe
                pipe.held = True  # nothing more is read before the reset
            else:
                link.reset_after -= len(data)
        if data:
            pipe.chunks.append((time.monotonic() + self._latency, data))
            pipe.buffered += len(data)
        if link.reset_pending is pipe and not pipe.chunks:
            self._drop(link, graceful=False)

    def _writable(self, link: _Link, pipe: _Pipe) -> None:
        if pipe.dst is link.server and not link.connected:
            if link.server.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self._drop(link, graceful=False)  # the target refused: so does the proxy
                return
            link.connected = True
            return
        now = time.monotonic()
        while pipe.chunks and pipe.chunks[0][0] <= now:
            due, data = pipe.chunks[0]
            try:
                sent = pipe.dst.send(data)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop(link, graceful=False)
                return
            pipe.buffered -= sent
            if sent < len(data):
                pipe.chunks[0] = (due, data[sent:])
                return
            pipe.chunks.popleft()
        if link.reset_pending is pipe and not pipe.chunks:
            self._drop(link, graceful=False)
        elif pipe.eof:
            self._flush_eof(link, pipe)

    def _flush_eof(self, link: _Link, pipe: _Pipe) -> None:
        """Pass a FIN on once everything before it has been delivered."""
        if pipe.chunks or pipe.shut or not link.connected:
            if not link.connected and pipe is link.up:
                self._drop(link, graceful=True)
            return
        pipe.shut = True
        with contextlib.suppress(OSError):
            pipe.dst.shutdown(socket.SHUT_WR)
        if link.up.shut and link.down.shut:
            self._drop(link, graceful=True)

    def _drop(self, link: _Link, *, graceful: bool) -> None:
        self._links.discard(link)
        for sock in (link.client, link.server):
            link.want(self._selector, sock, 0, None)
            with contextlib.suppress(OSError):
                if graceful:
                    _drain(sock)  # unread data would turn the close into a reset
                else:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()


class _Command:
    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.result: object = None
        self.error: Exception | None = None


class _Pipe:
    """One direction of a connection: what was read from `src` and waits to go to `dst`."""

    def __init__(self, src: socket.socket, dst: socket.socket) -> None:
        self.src, self.dst = src, dst
        self.chunks: collections.deque[tuple[float, bytes]] = collections.deque()  # (due, data)
        self.buffered = 0
        self.eof = False  # src will send nothing more
        self.shut = False  # dst has been sent a FIN
        self.held = False  # a reset is due: read nothing more

    def wants_read(self) -> bool:
        return not (self.eof or self.held) and self.buffered < _HIGH_WATER


class _Link:
    """A client connection and the proxy's connection to the target."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.up = _Pipe(client, server)
        self.down = _Pipe(server, client)
        self.connected = False
        self.server_spoke_last = True  # so the first request counts as a flight
        self.reset_after: int | None = None
        self.reset_from_client = False
        self.reset_pending: _Pipe | None = None  # reset once this pipe is flushed
        self._events: dict[int, int] = {}

    def want(
        self, selector: selectors.BaseSelector, sock: socket.socket, events: int, data: object
    ) -> None:
        fd = sock.fileno()
        if fd < 0:
            return
        current = self._events.get(fd, 0)
        if events == current:
            return
        if not events:
            selector.unregister(sock)
            del self._events[fd]
        elif not current:
            selector.register(sock, events, data)
            self._events[fd] = events
        else:
            selector.modify(sock, events, data)
            self._events[fd] = events


def _drain(sock: socket.socket) -> None:
    with contextlib.suppress(BlockingIOError, InterruptedError):
        while sock.recv(_CHUNK):
            pass
