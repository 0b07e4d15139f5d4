"""A TCP proxy on loopback, between the bot and its database, that the tests can break.

:meth:`TcpProxy.cut` closes every connection through it and stops listening, so a new
connection is refused as it would be by a server that is down (or a network that is cut:
the client sees its sockets reset); :meth:`TcpProxy.restore` listens again on the same
port. :meth:`TcpProxy.hold` is the silent kind of cut, a network partition: connections
stay open and new ones are accepted, but nothing goes through until :meth:`release` (what
was sent meanwhile then arrives, as TCP would retransmit it). :attr:`TcpProxy.latency`
delays every chunk the client sends by that many seconds, in order: a database that
answers each query that much later.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import make_url

CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target_host``:``target_port`` until :meth:`cut`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.latency = 0.0
        """Seconds added to each chunk sent by the client (queries, not their answers)."""
        self.port = 0
        self.connections = 0
        """Connections accepted in all (a client reconnecting shows here)."""
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> None:
        """Listen on a free port (the same one again after a :meth:`cut`)."""
        # SO_REUSEADDR (asyncio sets it) lets the port be taken again while the connections
        # of before the cut linger in TIME_WAIT.
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every connection (reset, as a dead peer's) and refuse new ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def restore(self) -> None:
        """Accept connections again, on the same port."""
        if self._server is None:
            await self.start()

    def hold(self) -> None:
        """Let nothing through, either way, and leave every connection open."""
        self._flowing.clear()

    def release(self) -> None:
        """Let everything through again, what was held first."""
        self._flowing.set()

    async def close(self) -> None:
        self.release()
        await self.cut()

    def url_for(self, url: str) -> str:
        """``url`` (a database URL) pointed at this proxy instead of its own host and port."""
        return (
            make_url(url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    async def _accept(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        await self._flowing.wait()  # a partition: the handshake does not get through
        try:
            server_reader, server = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client)
            return
        self._writers |= {client, server}
        upstream = asyncio.create_task(
            self._pipe(client_reader, server, self._flowing, self.latency_of)
        )
        downstream = asyncio.create_task(self._pipe(server_reader, client, self._flowing, None))
        self._pipes |= {upstream, downstream}
        try:
            # Either side ending ends the connection, as a real one would.
            await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (upstream, downstream):
                task.cancel()
            await asyncio.gather(upstream, downstream, return_exceptions=True)
            self._pipes -= {upstream, downstream}
            self._writers -= {client, server}
            for writer in (client, server):
                writer.close()

    def latency_of(self) -> float:
        return self.latency

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        flowing: asyncio.Event,
        delay: Callable[[], float] | None,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(CHUNK):
                if delay is not None and (seconds := delay()) > 0:
                    await asyncio.sleep(seconds)
                await flowing.wait()
                writer.write(chunk)
                await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset rather than a goodbye: what a client sees when the path dies."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    writer.close()


@asynccontextmanager
async def proxy_to(url: str) -> AsyncIterator[TcpProxy]:
    """A started proxy to the host and port of database ``url``; closed afterwards."""
    parsed = make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
