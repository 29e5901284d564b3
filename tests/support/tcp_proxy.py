"""A TCP proxy that can cut every connection and refuse new ones, then come back on the
same port: a database outage without stopping the shared server."""

from __future__ import annotations

import contextlib
import socket
import threading


class Proxy:
    """Forwards ``127.0.0.1:port`` to ``(host, port)``; :meth:`cut` / :meth:`restore`."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._cut = False  # set under the lock: a connection accepted meanwhile is dropped
        self._listener = self._listen(0)
        self.port: int = self._listener.getsockname()[1]

    def _listen(self, port: int) -> socket.socket:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        return s

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._cut:  # accepted just before the cut: it must not outlive it
                    client.close()
                    upstream.close()
                    continue
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def cut(self) -> None:
        """Close the listener and every forwarded connection: connects are refused."""
        with contextlib.suppress(OSError):  # wakes the accept() blocked on it (a close alone
            self._listener.shutdown(socket.SHUT_RDWR)  # does not, on Linux: it would still
        self._listener.close()  # accept the next connection)
        with self._lock:
            self._cut = True
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        """Listen again on the same port."""
        with self._lock:
            self._cut = False
        self._listener = self._listen(self.port)

    def close(self) -> None:
        self.cut()
