"""The HTTP/1.1 protocol `tunewise serve` runs under uvicorn: h11 with bounded headers and a deadline
for them, so a client that sends headers slowly (or never finishes them) cannot hold a connection.

- Header block larger than ``max_header_bytes`` (h11's incomplete-event limit): answered 400 and closed.
- Request line + headers not complete ``header_timeout_s`` after the connection opened (or after the
  first bytes of the next request on a keep-alive connection): the connection is closed. An idle
  keep-alive connection is closed by uvicorn's own keep-alive timeout, as before.
The body has its own deadline in ``tunewise.serve.state.read_body`` (408 when it is not received in time).
"""

from __future__ import annotations

from typing import Any


def bounded_h11(header_timeout_s: float) -> type:
    """An ``H11Protocol`` subclass whose header phase ends after ``header_timeout_s`` seconds."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class BoundedH11Protocol(H11Protocol):
        _header_timer: Any = None

        def connection_made(self, transport: Any) -> None:  # noqa: D102
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def data_received(self, data: bytes) -> None:  # noqa: D102
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()          # headers complete: the body has its own deadline
            elif self._header_timer is None and not self.transport.is_closing():
                self._arm()             # part of the next request's headers: the clock starts now

        def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
            self._disarm()
            super().connection_lost(exc)

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
                try:
                    self.conn.send(h11.ConnectionClosed())
                except h11.LocalProtocolError:
                    pass
                self.transport.close()

    return BoundedH11Protocol
