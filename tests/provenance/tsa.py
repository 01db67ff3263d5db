"""A small RFC 3161 time-stamp authority the provenance tests start: a real HTTP responder that answers
``application/timestamp-query`` with a DER ``TimeStampResp`` whose token is a CMS SignedData (RFC 5652) over a
TSTInfo, signed by a TSA certificate (critical EKU id-kp-timeStamping) issued by its own root CA.

Requests are parsed with rfc3161-client; responses are encoded here with a minimal DER writer and ``cryptography``
for the keys, certificates and ECDSA signatures. Nothing is faked: the client side (``provenance.timestamping``)
verifies the chain, the signature, the EKU, the nonce and the message imprint exactly as for a public TSA.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from rfc3161_client import _rust as rfc3161_rust

OID_SHA256 = "2.16.840.1.101.3.4.2.1"
OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_TST_INFO = "1.2.840.113549.1.9.16.1.4"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
TEST_POLICY = "1.3.6.1.4.1.99999.3161.1"


# --- A minimal DER writer ---


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return _tlv(0x31, b"".join(sorted(items)))  # DER: SET OF elements in ascending order


def integer(value: int) -> bytes:
    length = value.bit_length() // 8 + 1  # room for the sign bit
    return _tlv(0x02, value.to_bytes(length, "big", signed=True))


def oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def generalized_time(at: datetime) -> bytes:
    return _tlv(0x18, at.astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode())


def utc_time(at: datetime) -> bytes:
    return _tlv(0x17, at.astimezone(UTC).strftime("%y%m%d%H%M%SZ").encode())


def context(number: int, content: bytes) -> bytes:
    """[number] constructed (EXPLICIT, or IMPLICIT over a SET/SEQUENCE's contents)."""
    return _tlv(0xA0 + number, content)


NULL = b"\x05\x00"


# --- The authority ---


class TimeStampAuthority:
    """Keys and certificates of a test TSA; ``respond`` turns a DER TimeStampReq into a DER TimeStampResp."""

    def __init__(self, name: str = "Tessera test TSA") -> None:
        now = datetime.now(UTC)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} root")])
        self.root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.root_key.public_key()), critical=False)
            .sign(self.root_key, hashes.SHA256())
        )
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(root_name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()), critical=False
            )
            .sign(self.root_key, hashes.SHA256())
        )
        self.serial = 0
        self.requests = 0

    @property
    def roots_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    def respond(self, request_der: bytes) -> bytes:
        request = rfc3161_rust.parse_timestamp_request(request_der)
        self.serial += 1
        now = datetime.now(UTC)
        algorithm = request.message_imprint.hash_algorithm.dotted_string
        tst_info = seq(
            integer(1),
            oid(TEST_POLICY),
            seq(seq(oid(algorithm), NULL), octets(request.message_imprint.message)),
            integer(self.serial),
            generalized_time(now),
            *([integer(request.nonce)] if request.nonce is not None else []),
        )
        certificate_der = self.certificate.public_bytes(serialization.Encoding.DER)
        signed_attributes = [
            seq(oid(OID_CONTENT_TYPE), set_of(oid(OID_TST_INFO))),
            seq(oid(OID_SIGNING_TIME), set_of(utc_time(now))),
            seq(oid(OID_MESSAGE_DIGEST), set_of(octets(hashlib.sha256(tst_info).digest()))),
            seq(
                oid(OID_SIGNING_CERTIFICATE_V2),
                set_of(seq(seq(seq(octets(hashlib.sha256(certificate_der).digest()))))),
            ),
        ]
        # The signature covers the DER of the attributes as a SET OF (tag 0x31); the SignerInfo carries the same
        # bytes with the [0] IMPLICIT tag.
        attributes_set = set_of(*signed_attributes)
        signature = self.key.sign(attributes_set, ec.ECDSA(hashes.SHA256()))
        signer_info = seq(
            integer(1),
            seq(self.certificate.issuer.public_bytes(), integer(self.certificate.serial_number)),
            seq(oid(OID_SHA256), NULL),
            _tlv(0xA0, attributes_set[_header_length(attributes_set) :]),
            seq(oid(OID_ECDSA_SHA256)),
            octets(signature),
        )
        signed_data = seq(
            integer(3),
            set_of(seq(oid(OID_SHA256), NULL)),
            seq(oid(OID_TST_INFO), context(0, octets(tst_info))),
            context(0, certificate_der if request.cert_req else b""),
            set_of(signer_info),
        )
        token = seq(oid(OID_SIGNED_DATA), context(0, signed_data))
        return seq(seq(integer(0)), token)  # PKIStatusInfo {granted}, then the token


def _header_length(der: bytes) -> int:
    return 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)


@contextmanager
def tsa_server(authority: TimeStampAuthority | None = None) -> Iterator[tuple[str, TimeStampAuthority]]:
    """Serve ``authority`` over HTTP on an ephemeral loopback port; yields (url, authority)."""
    served = authority or TimeStampAuthority()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            served.requests += 1
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(415)
                self.end_headers()
                return
            answer = served.respond(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", served
    finally:
        server.shutdown()
        server.server_close()
