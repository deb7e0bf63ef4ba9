"""TLS and authentication through the binding: certificates made by the test (openssl, via
Tests/fixtures/tls/make_certs.sh), the right and the wrong CA, host names, client
certificates; nkey seeds, .creds files, and JWT / signature callbacks that sign with an
independent Ed25519 implementation (the `cryptography` package); wrong credentials; no
credential in any string."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import List

import pytest

import swiftnats
from conftest import REPO, NATSServer, eventually, free_port, requires_server

FIXTURES = REPO / "Tests" / "fixtures"
AUTH = FIXTURES / "auth"


@pytest.fixture
def pki(tmp_path) -> Path:
    out = tmp_path / "pki"
    subprocess.run(["sh", str(FIXTURES / "tls" / "make_certs.sh"), str(out)], check=True)
    return out


@pytest.fixture
def start(server_factory):
    def start_with(config: Path, *extra: str) -> NATSServer:
        return server_factory(["-c", str(config), *extra])

    return start_with


def round_trip(nc: swiftnats.Client) -> None:
    sub = nc.subscribe("secure")
    nc.publish("secure", b"hi")
    assert sub.next_msg(timeout=2).data == b"hi"


def connect(url: str, **kwargs) -> swiftnats.Client:
    return swiftnats.connect(url, allow_reconnect=False, **kwargs)


def test_tls_upgrade_with_ca_file(start, pki):
    srv = start(pki / "server.conf")
    with connect(srv.url, tls_ca_file=str(pki / "ca.pem")) as nc:
        round_trip(nc)
    port = srv.url.rsplit(":", 1)[1]
    with connect(f"tls://localhost:{port}", tls_ca_file=str(pki / "ca.pem")) as nc:
        round_trip(nc)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(tls_ca_file="other-ca.pem"),
        dict(),  # the system's CAs do not know the test CA
        dict(tls_ca_file="/nonexistent/ca.pem"),
    ],
    ids=["wrong-ca", "system-cas", "missing-file"],
)
def test_tls_verification_failures(start, pki, kwargs):
    srv = start(pki / "server.conf")
    if "tls_ca_file" in kwargs and not kwargs["tls_ca_file"].startswith("/"):
        kwargs = dict(tls_ca_file=str(pki / kwargs["tls_ca_file"]))
    with pytest.raises(swiftnats.TLSError) as info:
        connect(srv.url, **kwargs)
    assert info.value.status == swiftnats.Status.TLS_ERROR


def test_tls_skip_verify(start, pki):
    srv = start(pki / "server.conf")
    with connect(srv.url, tls_skip_verify=True) as nc:
        round_trip(nc)


def test_tls_hostname_verification(start, pki):
    srv = start(pki / "dns.conf")  # a certificate for "localhost" only
    ca = str(pki / "ca.pem")
    with pytest.raises(swiftnats.TLSError):
        connect(srv.url, tls_ca_file=ca)
    with pytest.raises(swiftnats.TLSError):
        connect(srv.url, tls_ca_file=ca, tls_hostname="nats.example.com")
    with connect(srv.url, tls_ca_file=ca, tls_hostname="nats.example.com", tls_verify_hostname=False):
        pass
    with connect(srv.url, tls_ca_file=ca, tls_hostname="localhost") as nc:
        round_trip(nc)


def test_tls_client_certificate(start, pki):
    srv = start(pki / "mtls.conf")
    with pytest.raises(swiftnats.SwiftNatsError):
        connect(srv.url, tls_ca_file=str(pki / "ca.pem"))
    with connect(
        srv.url,
        tls_ca_file=str(pki / "ca.pem"),
        tls_cert_file=str(pki / "client.pem"),
        tls_key_file=str(pki / "client-key.pem"),
    ) as nc:
        round_trip(nc)
    with pytest.raises(swiftnats.InvalidArgumentError):
        connect(srv.url, tls_cert_file=str(pki / "client.pem"))


def test_secure_against_plain_server(server):
    with pytest.raises(swiftnats.TLSError, match="does not offer TLS"):
        connect(server.url, secure=True)


def test_tls_reconnect(tmp_path, pki):
    port = free_port()
    servers: List[NATSServer] = []

    def start_node() -> NATSServer:
        srv = NATSServer(tmp_path / f"n{len(servers)}", ["-c", str(pki / "server.conf"), "-p", str(port)])
        servers.append(srv)
        srv.start()
        return srv

    try:
        start_node()
        reconnected = threading.Event()
        with swiftnats.connect(
            servers[0].url,
            tls_ca_file=str(pki / "ca.pem"),
            reconnect_time_wait=0.05,
            reconnect_jitter_tls=0,
            reconnected_cb=reconnected.set,
        ) as nc:
            sub = nc.subscribe("back")
            nc.flush()
            servers[0].stop()
            eventually(lambda: nc.is_reconnecting)
            nc.publish("back", b"again")
            start_node()
            assert reconnected.wait(10)
            assert sub.next_msg(timeout=2).data == b"again"
    finally:
        for srv in servers:
            srv.stop()


def test_nkey_seed_file_and_string(start):
    srv = start(AUTH / "nkey_server.conf")
    with connect(srv.url, nkeys_seed=str(AUTH / "nkey_user.seed")) as nc:
        round_trip(nc)
    seed = (AUTH / "nkey_user.seed").read_text().strip()
    with connect(srv.url, nkeys_seed_str=seed) as nc:
        round_trip(nc)
    with pytest.raises(swiftnats.AuthorizationError, match="Authorization Violation"):
        connect(srv.url, nkeys_seed=str(AUTH / "nkey_other.seed"))
    with pytest.raises(swiftnats.AuthorizationError):
        connect(srv.url)
    damaged = seed[:10] + ("B" if seed[10] == "A" else "A") + seed[11:]
    with pytest.raises(swiftnats.InvalidArgumentError) as info:
        connect(srv.url, nkeys_seed_str=damaged)
    assert damaged not in info.value.detail


def test_credentials_file(start):
    srv = start(AUTH / "jwt_server.conf")
    with connect(srv.url, user_credentials=str(AUTH / "user.creds")) as nc:
        round_trip(nc)
    with pytest.raises(swiftnats.AuthorizationError):
        connect(srv.url, user_credentials=str(AUTH / "stranger.creds"))
    with pytest.raises(swiftnats.InvalidArgumentError, match="nonexistent"):
        connect(srv.url, user_credentials="/nonexistent.creds")


def _sign_with_seed(seed: str):
    """An Ed25519 signer from an nkey seed, independent of the library."""
    from cryptography.hazmat.primitives.asymmetric import ed25519  # installed by scripts/deps.sh
    raw = base64.b32decode(seed + "=" * (-len(seed) % 8))
    key = ed25519.Ed25519PrivateKey.from_private_bytes(raw[2:34])
    return key.sign


def test_jwt_and_signature_callbacks(start):
    srv = start(AUTH / "jwt_server.conf")
    jwt = (AUTH / "user.jwt").read_text().strip()
    sign = _sign_with_seed((AUTH / "user.seed").read_text().strip())
    calls: List[str] = []

    def jwt_cb() -> str:
        calls.append("jwt")
        return jwt

    def signature_cb(nonce: bytes) -> bytes:
        calls.append("sig")
        return sign(nonce)

    with connect(srv.url, user_jwt_cb=jwt_cb, signature_cb=signature_cb) as nc:
        round_trip(nc)
    assert calls == ["jwt", "sig"]

    errors: List[BaseException] = []
    with pytest.raises(swiftnats.AuthorizationError):
        connect(srv.url, user_jwt_cb=jwt_cb, signature_cb=lambda nonce: b"\1" * 64)
    with pytest.raises(swiftnats.AuthorizationError):
        connect(
            srv.url,
            user_jwt_cb=jwt_cb,
            signature_cb=lambda nonce: b"short",
            error_cb=lambda e, s: errors.append(e),
        )
    assert isinstance(errors[0], ValueError)


def test_nkey_with_signature_callback(start):
    srv = start(AUTH / "nkey_server.conf")
    seed = (AUTH / "nkey_user.seed").read_text().strip()
    public = (AUTH / "nkey_server.conf").read_text().split("nkey:")[1].split()[0]
    with connect(srv.url, nkey=public, signature_cb=_sign_with_seed(seed)) as nc:
        round_trip(nc)
    with pytest.raises(swiftnats.InvalidArgumentError):
        connect(srv.url, nkey=public)
    with pytest.raises(swiftnats.InvalidArgumentError):
        connect(srv.url, user_jwt_cb=lambda: "x")


def test_credentials_never_in_strings(server_factory):
    srv = server_factory(["--user", "alice", "--pass", "s3cret"])
    port = srv.url.rsplit(":", 1)[1]
    with swiftnats.connect(f"nats://alice:s3cret@127.0.0.1:{port}") as nc:
        assert nc.connected_url == srv.url
        assert "s3cret" not in repr(nc) and "s3cret" not in "".join(nc.servers)
    with pytest.raises(swiftnats.AuthorizationError) as info:
        connect(f"nats://alice:wrong@127.0.0.1:{port}")
    assert "wrong" not in str(info.value)


@requires_server((2, 10, 3), "TLS-first (handshake_first)")
def test_tls_handshake_first_real_server(start, pki):
    """TLS before INFO against a real nats-server configured with handshake_first (2.10.3 and
    later: Debian's 2.9.10 skips this, `make test-current-server` runs it): a TLS-first client
    connects and round-trips; one that waits for INFO first gets none and fails."""
    config = pki / "tlsfirst.conf"
    config.write_text((pki / "server.conf").read_text().replace("tls {", "tls {\n  handshake_first: true", 1))
    srv = start(config)
    with connect(srv.url, tls_ca_file=str(pki / "ca.pem"), tls_handshake_first=True) as nc:
        round_trip(nc)
        assert nc.server_info["tls_required"] is True
    with pytest.raises(swiftnats.SwiftNatsError):
        connect(srv.url, tls_ca_file=str(pki / "ca.pem"), connect_timeout=0.5)


def test_tls_handshake_first(pki):
    """TLS before INFO. Debian's nats-server (2.9) predates handshake_first, so a small TLS
    server of the test's own plays the server side: it completes TLS at once, then speaks
    NATS (INFO, then PONG to the client's PING). test_tls_handshake_first_real_server does
    the same against a real server of 2.10.3 or later."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki / "server.pem"), str(pki / "server-key.pem"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    seen: List[bytes] = []

    def serve() -> None:
        raw, _ = listener.accept()
        try:
            with context.wrap_socket(raw, server_side=True) as tls:  # TLS first: no INFO before it
                info = {"server_id": "TLSFIRST", "version": "2.10.3", "proto": 1, "headers": True,
                        "max_payload": 1048576, "tls_required": True}
                tls.sendall(b"INFO " + json.dumps(info).encode() + b"\r\n")
                data = b""
                while b"PING\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                seen.append(data)
                tls.sendall(b"PONG\r\n")
                while tls.recv(4096):
                    pass
        except (OSError, ssl.SSLError):
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with connect(f"tls://127.0.0.1:{port}", tls_ca_file=str(pki / "ca.pem"), tls_handshake_first=True) as nc:
            assert nc.server_info["server_id"] == "TLSFIRST"
        assert seen and seen[0].startswith(b"CONNECT ")
        assert b'"tls_required":true' in seen[0]
    finally:
        listener.close()
