"""A TLS front for a PostgreSQL built without SSL, the way Neon's proxy fronts a compute.

    with TlsFront("127.0.0.1", 5432, certfile, keyfile) as front:
        psycopg.connect(f"host=127.0.0.1 port={front.port} sslmode=require sslnegotiation=direct")

It speaks the server's side of PostgreSQL's TLS negotiation: an SSLRequest answered with
'S' and then the TLS handshake (`sslnegotiation=postgres`, libpq's default), or a TLS
ClientHello straight away with ALPN "postgresql" (`sslnegotiation=direct`, libpq >= 17);
a plain startup message passes through untouched. Behind it, bytes go to the server as they
are. No session tickets are sent, as PostgreSQL sends none. One thread per connection.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
import threading
from types import TracebackType

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_TLS_HANDSHAKE = 0x16


class TlsFront:
    """Listens on 127.0.0.1:`port`; terminates TLS; forwards to `target_host`:`target_port`."""

    def __init__(self, target_host: str, target_port: int, certfile: str, keyfile: str) -> None:
        self.target = (target_host, target_port)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certfile, keyfile)
        self.context.set_alpn_protocols(["postgresql"])
        self.context.num_tickets = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stopping = False
        self._threads: set[threading.Thread] = set()
        self._thread = threading.Thread(target=self._accept, name="TlsFront", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> TlsFront:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stopping:
            client, _ = self._listener.accept()
            if self._stopping:
                client.close()
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server: socket.socket | None = None
        try:
            front: socket.socket = client
            first = b""
            while True:
                head = client.recv(1, socket.MSG_PEEK)
                if not head:
                    return
                if head[0] == _TLS_HANDSHAKE:  # direct TLS
                    front = self.context.wrap_socket(client, server_side=True)
                    break
                first = _recv_exact(client, 8)
                length, code = struct.unpack("!II", first)
                if code == _SSL_REQUEST and length == 8:
                    client.sendall(b"S")
                    first = b""
                    front = self.context.wrap_socket(client, server_side=True)
                    break
                if code == _GSS_REQUEST and length == 8:
                    client.sendall(b"N")
                    continue
                break  # a plain startup message: passed on as it is
            server = socket.create_connection(self.target)
            server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if first:
                server.sendall(first)
            _pump(front, server)
        except (OSError, ssl.SSLError):
            pass
        finally:
            for sock in (client, server):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed during the startup packet")
        data += chunk
    return data


def _pump(front: socket.socket, server: socket.socket) -> None:
    """Copy both ways until either side closes (one thread: an SSL object is not shared)."""
    pending = getattr(front, "pending", lambda: 0)
    while True:
        if pending():
            readable = [front]
        else:
            readable, _, _ = select.select([front, server], [], [])
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (server if sock is front else front).sendall(data)
