"""The asyncio floor: the request/reply any asyncio client must at least pay on this machine,
the NATS protocol spoken by hand on two raw sockets of one event loop, nothing else between
the loop and the kernel (used by aio_bench.py's "floor" client)."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.parse
from typing import Callable, Dict, List, Optional, Tuple

__all__ = ["floor_req"]


# -- asyncio floor: no client library ----------------------------------------------------------
# The request/reply any asyncio client must at least pay on this machine: the NATS protocol
# spoken by hand on two raw sockets of one event loop, nothing else between the loop and the
# kernel. No client can expect a lower req p50, so latency targets are judged against it.

OnMsg = Callable[[bytes, Optional[bytes], bytes], None]


async def raw_connect(url: str, subject: bytes) -> Tuple[socket.socket, bytearray]:
    """A non-blocking socket to a plain-TCP nats-server (no TLS, no auth), CONNECTed and
    SUBscribed to subject (sid 1), each acknowledged by a PONG; returns it with whatever
    the server sent after the last PONG."""
    loop = asyncio.get_running_loop()
    parts = urllib.parse.urlsplit(url if "://" in url else f"nats://{url}")
    family, kind, proto, _, address = (await loop.getaddrinfo(
        parts.hostname or "127.0.0.1", parts.port or 4222, type=socket.SOCK_STREAM))[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        # asyncio's own TCP transports (both clients) set TCP_NODELAY; without it Nagle's
        # algorithm would hold each small PUB back for the ACK of the previous one.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(sock, address)
        buf = bytearray()
        await loop.sock_sendall(sock, b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        await until_pong(sock, buf)
        await loop.sock_sendall(sock, b"SUB %s 1\r\nPING\r\n" % subject)
        await until_pong(sock, buf)
        return sock, buf
    except BaseException:
        sock.close()
        raise


async def until_pong(sock: socket.socket, buf: bytearray) -> None:
    """Reads control lines (INFO, +OK, PING) until the PONG; -ERR raises."""
    loop = asyncio.get_running_loop()
    while True:
        eol = buf.find(b"\r\n")
        if eol < 0:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), 5)
            if not data:
                raise ConnectionError("nats-server closed the connection")
            buf += data
            continue
        line = bytes(buf[:eol])
        del buf[:eol + 2]
        if line == b"PONG":
            return
        if line == b"PING":
            await loop.sock_sendall(sock, b"PONG\r\n")
        elif line.startswith(b"-ERR"):
            raise ConnectionError(line.decode(errors="replace"))


class RawConn:
    """One hand-spoken connection on loop.add_reader: the reader callback appends each recv
    to a per-connection buffer and cuts complete frames out of it (one recv may hold several
    ops, or part of one), calls on_msg(subject, reply, payload) for each MSG and answers
    the server's PINGs. Any failure (EOF, -ERR, a bad frame) goes to on_error, once: an
    exception escaping a reader callback would only be logged, and the request would hang."""

    def __init__(self, sock: socket.socket, buf: bytearray, on_msg: OnMsg,
                 on_error: Callable[[BaseException], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.sock = sock
        self.buf = buf
        self.out = bytearray()  # what the kernel did not take yet, in order
        self.on_msg = on_msg
        self.on_error: Optional[Callable[[BaseException], None]] = on_error
        self.loop.add_reader(sock, self.readable)
        if buf:  # already read during the handshake: no readable event will announce it
            self.loop.call_soon(self.parse_safely)

    def send(self, data: bytes) -> None:
        if self.out:  # earlier bytes still wait for the socket: keep the order
            self.out += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self.fail(exc)
            return
        if sent < len(data):  # the kernel buffer is full: the rest when it is writable
            self.out += data[sent:]
            self.loop.add_writer(self.sock, self.writable)

    def writable(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.fail(exc)
            return
        del self.out[:sent]
        if not self.out:
            self.loop.remove_writer(self.sock)

    def readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return  # a spurious wakeup
        except OSError as exc:
            self.fail(exc)
            return
        if not data:
            self.fail(ConnectionError("nats-server closed the connection"))
            return
        self.buf += data
        self.parse_safely()

    def parse_safely(self) -> None:
        try:
            self.parse()
        except Exception as exc:  # noqa: BLE001 - a bad frame, or on_msg failed
            self.fail(exc)

    def parse(self) -> None:
        buf = self.buf
        while self.on_error is not None:
            eol = buf.find(b"\r\n")
            if eol < 0:
                return  # a partial control line: the rest comes with the next recv
            if buf.startswith(b"MSG "):
                args = bytes(buf[4:eol]).split()  # subject sid [reply] size
                end = eol + 2 + int(args[-1])
                if len(buf) < end + 2:
                    return  # the payload is not all here yet
                payload = bytes(buf[eol + 2:end])
                del buf[:end + 2]
                self.on_msg(args[0], args[2] if len(args) == 4 else None, payload)
                continue
            line = bytes(buf[:eol])
            del buf[:eol + 2]
            if line == b"PING":
                self.send(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                self.fail(ConnectionError(line.decode(errors="replace")))
            # PONG, +OK, INFO: nothing to answer

    def fail(self, exc: BaseException) -> None:
        on_error, self.on_error = self.on_error, None
        if on_error is not None:
            self.loop.remove_reader(self.sock)
            on_error(exc)

    def close(self) -> None:
        self.on_error = None
        self.loop.remove_reader(self.sock)
        self.loop.remove_writer(self.sock)
        self.sock.close()


async def floor_req(url: str, count: int, size: int, plain: bool) -> List[float]:
    """REQUESTS sequential requests of SIZE bytes over RawConns: the responder answers in
    its reader callback (plain) or from a Task running an ``async def`` (the shape of the
    clients' echo handlers); the requester awaits a future its reader callback completes."""
    loop = asyncio.get_running_loop()
    payload = b"x" * size
    pending: Dict[bytes, asyncio.Future] = {}  # inbox -> the request waiting on it
    errors: List[BaseException] = []
    replies = 0

    def on_error(exc: BaseException) -> None:
        errors.append(exc)
        for future in pending.values():
            if not future.done():
                future.set_exception(exc)
        pending.clear()

    def on_reply(subject: bytes, reply: Optional[bytes], data: bytes) -> None:
        nonlocal replies
        future = pending.pop(subject, None)
        if future is not None and not future.done():  # a late or stray reply is dropped
            replies += 1
            future.set_result(data)

    def answer(reply: Optional[bytes], data: bytes) -> None:
        if reply is not None:
            responder.send(b"PUB %s %d\r\n%s\r\n" % (reply, len(data), data))

    async def echo(reply: Optional[bytes], data: bytes) -> None:
        answer(reply, data)

    def on_request(subject: bytes, reply: Optional[bytes], data: bytes) -> None:
        if plain:
            answer(reply, data)
        else:
            # No reference kept: the task never suspends, the loop's ready queue holds it
            # until it has run (a set of tasks would add work the clients need not do).
            loop.create_task(echo(reply, data))

    sock, buf = await raw_connect(url, b"bench.floor")
    responder = RawConn(sock, buf, on_request, on_error)
    try:
        sock, buf = await raw_connect(url, b"_INBOX.floor.*")
    except BaseException:
        responder.close()
        raise
    requester = RawConn(sock, buf, on_reply, on_error)

    def watchdog(seen: int) -> None:
        # A stuck request fails after 5 s to 10 s, like the clients' timeout=5, without a
        # timer per request: that would be work the floor does not have to do.
        nonlocal timer
        if pending and replies == seen:
            on_error(TimeoutError("asyncio floor: no reply in 5 s"))
        timer = loop.call_later(5, watchdog, replies)

    timer = loop.call_later(5, watchdog, replies)
    try:
        latencies = []
        for n in range(100 + count):  # 100 warm-up requests, then the timed ones
            if errors:
                raise errors[0]
            sent = time.perf_counter()
            inbox = b"_INBOX.floor.%d" % n
            future = pending[inbox] = loop.create_future()
            requester.send(b"PUB bench.floor %s %d\r\n%s\r\n" % (inbox, size, payload))
            await future
            if n >= 100:
                latencies.append(time.perf_counter() - sent)
        return latencies
    finally:
        timer.cancel()
        requester.close()
        responder.close()
