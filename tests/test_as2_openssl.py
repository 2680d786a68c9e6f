"""AS2 against an independent implementation: the OpenSSL command line (``openssl cms`` and
``openssl smime``, run as subprocesses; a missing ``openssl`` is a failure, never a skip).

Both ends of ``tests/test_as2.py`` are ours (pyas2lib), so a mistake shared by both would go
unseen there. Here OpenSSL decrypts and verifies what ``build_message`` sends, OpenSSL signs and
encrypts messages and MDNs that ``receive`` and ``read_mdn`` must accept, and the MICs are
computed a third way, with hashlib over the bytes as RFC 4130 and RFC 5751 define them: the first
part of the multipart/signed, in canonical form (CRLF line endings, or the bytes as they are for
``Content-Transfer-Encoding: binary``), checked also against the messageDigest attribute that the
signer put in its signature.

Debian builds OpenSSL without zlib, so ``openssl cms -uncompress`` refuses every message
("unsupported compression algorithm"); there the compressed-data structure is read with
``openssl asn1parse`` and the zlib stream inflated with Python's ``zlib``, not with pyas2lib.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message as MimeMessage
from pathlib import Path

import pytest

from tests.as2_keys import key_and_certificate
from transport.as2 import KeyPair, Received, Them, Us, build_message, raw, read_mdn, receive

US, PARTNER = "ACMESUPPLY", "NORTHWIND"
FILE_NAME = "PO-850.x12"

#: An 850 interchange with ``~`` and a newline after each segment, as the engine's X12 is written.
X12_LF = (
    b"ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*NORTHWIND      *240301*1015*U*00401*000042001*0*P*>~\n"
    b"GS*PO*ACMESUPPLY*NORTHWIND*20240301*1015*42001*X*004010~\n"
    b"ST*850*0001~\n"
    b"BEG*00*DS*NW5001234**20240231~\n"
    b"PO1*1*12*EA*4.25**VP*WIDGET-9~\n"
    b"CTT*1~\n"
    b"SE*5*0001~\n"
    b"GE*1*42001~\n"
    b"IEA*1*000042001~\n"
)
#: The same interchange in MIME canonical form (CRLF), which every step may carry unchanged.
X12_CRLF = X12_LF.replace(b"\n", b"\r\n")


@dataclass(frozen=True)
class Party:
    """An AS2 identity with its RSA key and self-signed certificate, as files OpenSSL reads."""

    as2_id: str
    key: Path
    certificate: Path

    @property
    def pem(self) -> bytes:
        return self.key.read_bytes() + self.certificate.read_bytes()


@dataclass(frozen=True)
class Parties:
    us: Party
    partner: Party
    impostor: Party  # calls itself NORTHWIND, with a key the agreement does not know
    stranger: Party  # calls itself ACMESUPPLY, with a certificate that is not ours

    def our_side(self) -> Us:
        return Us(US, (KeyPair(self.us.pem),), domain="acmesupply.test")

    def their_side(self, *, compress: bool = False) -> Them:
        """The agreement: sign and encrypt both ways (AES-256, SHA-256), a signed synchronous MDN."""
        return Them(PARTNER, "http://127.0.0.1:9/as2", (self.partner.certificate.read_bytes(),), compress=compress)

    def receive(self, headers: Sequence[tuple[str, str]], body: bytes) -> Received:
        pair = (self.our_side(), self.their_side())
        return receive(headers, body, lambda to, frm: pair if (to, frm) == (US, PARTNER) else None)


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Parties:
    if shutil.which("openssl") is None:
        pytest.fail("these tests need the openssl command line (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("keys")

    def party(file: str, as2_id: str) -> Party:
        key, certificate = key_and_certificate(as2_id)
        (folder / f"{file}.key").write_bytes(key)
        (folder / f"{file}.crt").write_bytes(certificate)
        return Party(as2_id, folder / f"{file}.key", folder / f"{file}.crt")

    return Parties(party("us", US), party("partner", PARTNER), party("impostor", PARTNER), party("stranger", US))


# --- OpenSSL and MIME helpers ---------------------------------------------------------------------


def openssl(*args: str | Path, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run ``openssl`` with ``args``; with ``check``, a failure is an assertion with its stderr."""
    result = subprocess.run(["openssl", *map(str, args)], input=stdin, capture_output=True, check=False, timeout=60)
    if check:
        assert result.returncode == 0, f"openssl {' '.join(map(str, args))}: {result.stderr.decode(errors='replace')}"
    return result


def split_entity(entity: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """A MIME entity's headers (unfolded, as HTTP carries them) and body, whichever line endings it uses."""
    blank = re.search(rb"\r?\n\r?\n", entity)
    assert blank is not None, entity[:200]
    headers = message_from_bytes(entity[: blank.end()]).items()
    return [(name, " ".join(value.split())) for name, value in headers], entity[blank.end() :]


def header(headers: Sequence[tuple[str, str]], name: str) -> str:
    values = [value for key, value in headers if key.lower() == name.lower()]
    assert len(values) == 1, (name, headers)
    return values[0]


def first_part(entity: bytes) -> bytes:
    """The first body part of a multipart entity, cut out of its bytes by hand (RFC 2046: the CRLF
    before a delimiter belongs to the delimiter)."""
    headers, body = split_entity(entity)
    content_type = message_from_bytes(f"Content-Type: {header(headers, 'Content-Type')}\r\n\r\n".encode())
    boundary = content_type.get_boundary()
    assert boundary, headers
    delimiter = f"--{boundary}".encode()
    opening = re.search(rb"(?:^|\r?\n)" + re.escape(delimiter) + rb"[ \t]*\r?\n", body)
    assert opening is not None, body[:200]
    closing = re.search(rb"\r?\n" + re.escape(delimiter), body[opening.end() :])
    assert closing is not None, body[-200:]
    return body[opening.end() : opening.end() + closing.start()]


def mic(content: bytes) -> str:
    """An AS2 MIC: the base64 SHA-256 of the signed content."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


def signed_message_digest(smime: Path) -> str:
    """The messageDigest attribute of the (first) signer of an S/MIME signed message, as OpenSSL
    reads it: the digest of exactly what was signed, base64 like a MIC."""
    der = openssl("cms", "-cmsout", "-in", smime, "-outform", "DER").stdout
    listing = openssl("asn1parse", "-inform", "DER", stdin=der)
    found = re.search(rb":messageDigest\s*\n.*\n.*\[HEX DUMP\]:([0-9A-F]+)", listing.stdout)
    assert found is not None, listing.stdout.decode(errors="replace")
    return base64.b64encode(bytes.fromhex(found.group(1).decode())).decode()


def uncompress(der: bytes, folder: Path) -> bytes:
    """The content of a CMS compressed-data structure: ``openssl cms -uncompress`` where OpenSSL has
    zlib; where it has not, OpenSSL's parse of the structure and Python's zlib."""
    (folder / "compressed.der").write_bytes(der)
    result = openssl("cms", "-uncompress", "-inform", "DER", "-in", folder / "compressed.der", check=False)
    if result.returncode == 0:
        return result.stdout
    assert b"unsupported compression algorithm" in result.stderr, result.stderr.decode(errors="replace")
    listing = openssl("asn1parse", "-inform", "DER", "-in", folder / "compressed.der").stdout.decode()
    assert re.findall(r":(id-smime-ct-compressedData|zlib compression|pkcs7-data)\s*$", listing, re.M) == [
        "id-smime-ct-compressedData",
        "zlib compression",
        "pkcs7-data",
    ], listing
    (content,) = re.findall(r"prim: OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]+)", listing)
    return zlib.decompress(bytes.fromhex(content))


def disposition_fields(report: bytes) -> MimeMessage:
    """The fields of the message/disposition-notification part of a multipart/report."""
    parsed = message_from_bytes(report)
    assert parsed.get_content_type() == "multipart/report", report[:300]
    parts = [p for p in parsed.walk() if p.get_content_type() == "message/disposition-notification"]
    assert len(parts) == 1, report
    payload = parts[0].get_payload()  # a message/* part holds the message it carries
    assert isinstance(payload, list) and len(payload) == 1 and isinstance(payload[0], MimeMessage), payload
    return payload[0]


# --- What we send, read by OpenSSL ----------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """Our message as OpenSSL opens it."""

    mic: str | None  # the MIC build_message reported
    signed_part: bytes  # the first part of the decrypted multipart/signed, cut out by hand
    verified: bytes  # what ``openssl cms -verify`` output (the content whose signature it verified)
    signature_digest: str  # the messageDigest attribute of our signature, as OpenSSL reads it
    entity: bytes  # the EDI MIME entity (after uncompressing, when compressed)


def send_to_openssl(parties: Parties, folder: Path, data: bytes, *, compress: bool, binary: bool) -> Opened:
    """``build_message`` signed and encrypted (and compressed), then ``openssl cms -decrypt`` with
    the partner's key and ``openssl cms -verify`` with our certificate as the only trusted CA."""
    outgoing = build_message(
        parties.our_side(),
        parties.their_side(compress=compress),
        data,
        file_name=FILE_NAME,
        message_id=f"openssl-{compress:d}{binary:d}@acmesupply.test",
    )
    assert outgoing.headers["Content-Type"].startswith("application/pkcs7-mime")
    assert "enveloped-data" in outgoing.headers["Content-Type"]
    (folder / "body.p7m").write_bytes(outgoing.body)  # HTTP carries the DER itself (binary)
    decrypted = openssl(
        "cms", "-decrypt", "-inform", "DER", "-in", folder / "body.p7m",
        "-recip", parties.partner.certificate, "-inkey", parties.partner.key,
    ).stdout  # fmt: skip
    (folder / "signed.eml").write_bytes(decrypted)
    signed_part = first_part(decrypted)
    source: list[str | Path]
    if binary:
        # OpenSSL's S/MIME reader is line-based (in -binary mode it ends the lines it splits with
        # LF, and strips CRs that end a line), so a binary part is verified detached: the signature
        # OpenSSL takes out of the multipart/signed, against the bytes of the part as they are.
        signature = openssl("cms", "-cmsout", "-in", folder / "signed.eml", "-outform", "DER").stdout
        (folder / "signature.der").write_bytes(signature)
        (folder / "content.bin").write_bytes(signed_part)
        source = ["-inform", "DER", "-in", folder / "signature.der", "-content", folder / "content.bin", "-binary"]
    else:
        source = ["-in", folder / "signed.eml"]  # OpenSSL reads the multipart/signed itself
    verified = openssl(
        "cms", "-verify", *source, "-CAfile", parties.us.certificate, "-purpose", "smimesign"
    ).stdout  # fmt: skip
    entity = signed_part
    if compress:
        headers, body = split_entity(signed_part)
        assert "compressed-data" in header(headers, "Content-Type")
        entity = uncompress(body, folder)
    return Opened(outgoing.mic, signed_part, verified, signed_message_digest(folder / "signed.eml"), entity)


@pytest.mark.parametrize("compress", [False, True], ids=["signed-encrypted", "signed-encrypted-compressed"])
def test_what_we_send_is_decrypted_and_verified_by_openssl_and_carries_the_payload_and_mic(
    parties: Parties, tmp_path: Path, compress: bool
) -> None:
    # A compressed part is binary (Content-Transfer-Encoding: binary), so it is verified as the
    # bytes it is; an uncompressed one as S/MIME verifies text: OpenSSL canonicalizes it first.
    opened = send_to_openssl(parties, tmp_path, X12_CRLF, compress=compress, binary=compress)
    assert opened.verified == opened.signed_part  # OpenSSL verified exactly the first part
    assert opened.mic == mic(opened.signed_part) == opened.signature_digest
    headers, payload = split_entity(opened.entity)
    assert header(headers, "Content-Type") == "application/edi-x12"
    assert FILE_NAME in header(headers, "Content-Disposition")
    assert payload == X12_CRLF


@pytest.mark.parametrize("compress", [False, True], ids=["signed-encrypted", "signed-encrypted-compressed"])
def test_a_payload_with_bare_lf_segment_terminators_reaches_openssl_byte_for_byte(
    parties: Parties, tmp_path: Path, compress: bool
) -> None:
    """X12 written with ``~`` and LF (as the engine and its fixtures write it) must arrive as it was
    sent: an AS2 payload is a document, not text for the mail system to re-end its lines."""
    opened = send_to_openssl(parties, tmp_path, X12_LF, compress=compress, binary=True)
    assert opened.verified == opened.signed_part
    assert opened.mic == mic(opened.signed_part) == opened.signature_digest
    headers, payload = split_entity(opened.entity)
    encoding = next((v for k, v in headers if k.lower() == "content-transfer-encoding"), None)
    crlf, lf = payload.count(b"\r\n"), X12_LF.count(b"\n")
    assert payload == X12_LF, (
        f"the partner received the payload with its line endings changed (Content-Transfer-Encoding: "
        f"{encoding}): {crlf} CRLF where we sent {lf} bare LF"
    )


# --- What OpenSSL sends, received by us ------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A message OpenSSL signed and encrypted, with the HTTP headers AS2 adds."""

    message_id: str
    headers: list[tuple[str, str]]
    body: bytes
    signed_digest: str  # the messageDigest OpenSSL put in its signature


def openssl_message(
    parties: Parties,
    folder: Path,
    *,
    entity: bytes,
    signer: Party,
    recipient: Party,
    sign_flags: Sequence[str] = (),
    encrypt_flags: Sequence[str] = (),
    base64_body: bool = False,
) -> Sent:
    """``entity`` signed detached by ``signer`` (multipart/signed), encrypted with AES-256 to
    ``recipient``'s certificate, and the HTTP headers of an AS2 message that asks for a signed MDN."""
    (folder / "entity.txt").write_bytes(entity)
    openssl(
        "cms", "-sign", "-in", folder / "entity.txt", "-signer", signer.certificate, "-inkey", signer.key,
        "-md", "sha256", *sign_flags, "-out", folder / "signed.eml",
    )  # fmt: skip
    signed_headers, _ = split_entity((folder / "signed.eml").read_bytes())
    assert header(signed_headers, "Content-Type").startswith("multipart/signed")
    openssl(
        "cms", "-encrypt", "-aes256", "-in", folder / "signed.eml", *encrypt_flags, "-out", folder / "encrypted.eml",
        recipient.certificate,
    )  # fmt: skip
    smime_headers, smime_body = split_entity((folder / "encrypted.eml").read_bytes())
    assert "enveloped-data" in header(smime_headers, "Content-Type")
    assert header(smime_headers, "Content-Transfer-Encoding") == "base64"
    message_id = f"<openssl-{uuid.uuid4().hex}@northwind.test>"
    headers = [
        ("AS2-From", PARTNER),
        ("AS2-To", US),
        ("AS2-Version", "1.2"),
        ("Message-ID", message_id),
        ("Content-Type", header(smime_headers, "Content-Type")),
        ("Disposition-Notification-To", "edi@northwind.test"),
        (
            "Disposition-Notification-Options",
            "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256",
        ),
    ]
    if base64_body:  # as S/MIME mail carries it
        headers.append(("Content-Transfer-Encoding", "base64"))
        body = smime_body
    else:  # as AS2 over HTTP usually carries it: the DER itself
        body = base64.b64decode(smime_body)
    return Sent(message_id.strip("<>"), headers, body, signed_message_digest(folder / "signed.eml"))


def edi_entity(data: bytes, *, transfer_encoding: str | None = None) -> bytes:
    lines = ["Content-Type: application/edi-x12"]
    if transfer_encoding:
        lines.append(f"Content-Transfer-Encoding: {transfer_encoding}")
    lines.append(f'Content-Disposition: attachment; filename="{FILE_NAME}"')
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def verify_our_mdn(parties: Parties, received: Received, folder: Path) -> MimeMessage:
    """The MDN ``received`` answers with, verified by ``openssl smime -verify`` against our
    certificate; the fields of its disposition notification."""
    answer = received.answer()
    assert answer is not None
    headers, body = answer
    assert headers["Content-Type"].startswith("multipart/signed")
    (folder / "mdn.eml").write_bytes(raw(headers.items(), body))
    report = openssl(
        "smime", "-verify", "-in", folder / "mdn.eml", "-CAfile", parties.us.certificate, "-purpose", "smimesign"
    ).stdout
    return disposition_fields(report)


@pytest.mark.parametrize(
    ("data", "transfer_encoding", "sign_flags", "encrypt_flags"),
    [
        (X12_CRLF, None, [], []),
        (X12_CRLF, None, ["-crlfeol"], []),
        (X12_LF, "binary", ["-binary"], ["-binary"]),
    ],
    ids=["text", "crlfeol", "binary-entity-with-lf"],
)
def test_a_message_openssl_signed_and_encrypted_is_accepted_and_answered_with_an_mdn_openssl_verifies(
    parties: Parties,
    tmp_path: Path,
    data: bytes,
    transfer_encoding: str | None,
    sign_flags: list[str],
    encrypt_flags: list[str],
) -> None:
    entity = edi_entity(data, transfer_encoding=transfer_encoding)
    sent = openssl_message(
        parties, tmp_path, entity=entity, signer=parties.partner, recipient=parties.us,
        sign_flags=sign_flags, encrypt_flags=encrypt_flags,
    )  # fmt: skip
    received = parties.receive(sent.headers, sent.body)
    assert received.accepted, (received.detail, received.error)
    assert (received.message_id, received.their_id, received.file_name) == (sent.message_id, PARTNER, FILE_NAME)
    assert received.payload == data
    assert received.mdn_mode == "sync"
    fields = verify_our_mdn(parties, received, tmp_path)
    assert fields["Original-Message-ID"] == f"<{sent.message_id}>"
    assert fields["Disposition"].replace(" ", "") == "automatic-action/MDN-sent-automatically;processed"
    # The entity is already canonical (CRLF, or binary), so what OpenSSL signed is its bytes.
    assert sent.signed_digest == mic(entity)
    assert [part.strip() for part in fields["Received-Content-MIC"].split(",")] == [mic(entity), "sha256"]


def test_a_message_whose_http_body_is_base64_is_accepted_with_its_payload_unchanged(
    parties: Parties, tmp_path: Path
) -> None:
    """Some AS2 servers post the S/MIME body as OpenSSL writes it, base64 with
    ``Content-Transfer-Encoding: base64``. That header is the HTTP body's, never the EDI entity's
    inside it, which has none of its own and so is 7bit (RFC 2045's default)."""
    entity = edi_entity(X12_CRLF)
    sent = openssl_message(
        parties, tmp_path, entity=entity, signer=parties.partner, recipient=parties.us, base64_body=True
    )
    received = parties.receive(sent.headers, sent.body)
    assert received.accepted, (received.detail, received.error)
    fields = verify_our_mdn(parties, received, tmp_path)
    assert [part.strip() for part in fields["Received-Content-MIC"].split(",")] == [mic(entity), "sha256"]
    assert received.payload == X12_CRLF, (
        "accepted and confirmed with a processed MDN, but the payload was decoded with the HTTP "
        f"Content-Transfer-Encoding: {received.payload!r}"
    )


def test_a_message_openssl_encrypted_to_another_certificate_is_refused_as_decryption_failed(
    parties: Parties, tmp_path: Path
) -> None:
    sent = openssl_message(
        parties, tmp_path, entity=edi_entity(X12_CRLF), signer=parties.partner, recipient=parties.stranger
    )
    received = parties.receive(sent.headers, sent.body)
    assert not received.accepted and received.payload is None
    assert (received.status, received.detail) == ("processed/Error", "decryption-failed")
    fields = verify_our_mdn(parties, received, tmp_path)  # the refusal, signed, as OpenSSL reads it
    assert fields["Original-Message-ID"] == f"<{sent.message_id}>"
    assert fields["Disposition"].endswith("processed/Error: decryption-failed")


def test_a_message_openssl_signed_with_a_key_not_the_partners_is_refused_as_authentication_failed(
    parties: Parties, tmp_path: Path
) -> None:
    sent = openssl_message(
        parties, tmp_path, entity=edi_entity(X12_CRLF), signer=parties.impostor, recipient=parties.us
    )
    received = parties.receive(sent.headers, sent.body)
    assert not received.accepted and received.payload is None
    assert (received.status, received.detail) == ("processed/Error", "authentication-failed")
    fields = verify_our_mdn(parties, received, tmp_path)
    assert fields["Disposition"].endswith("processed/Error: authentication-failed")
    assert "Received-Content-MIC" not in fields  # nothing was verified, so nothing is vouched for


# --- MDNs OpenSSL signed, read by us ----------------------------------------------------------------


def mdn_report(original_message_id: str, received_mic: str, *, disposition: str = "processed") -> bytes:
    """A multipart/report MDN (RFC 3798, with RFC 4130's Received-Content-MIC), CRLF throughout."""
    return (
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="report-boundary"\r\n'
        "\r\n"
        "--report-boundary\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "The message was received and its signature verified.\r\n"
        "--report-boundary\r\n"
        "Content-Type: message/disposition-notification\r\n"
        "\r\n"
        "Reporting-UA: openssl-cms; tests\r\n"
        f"Original-Recipient: rfc822; {PARTNER}\r\n"
        f"Final-Recipient: rfc822; {PARTNER}\r\n"
        f"Original-Message-ID: <{original_message_id}>\r\n"
        f"Disposition: automatic-action/MDN-sent-automatically; {disposition}\r\n"
        f"Received-Content-MIC: {received_mic}, sha256\r\n"
        "\r\n"
        "--report-boundary--\r\n"
    ).encode()


def openssl_mdn(
    folder: Path, report: bytes, signer: Party, sign_flags: Sequence[str] = ()
) -> tuple[list[tuple[str, str]], bytes]:
    """``report`` signed detached by ``signer``, as HTTP headers (the S/MIME ones and AS2's) and body."""
    (folder / "report.txt").write_bytes(report)
    openssl(
        "cms", "-sign", "-in", folder / "report.txt", "-signer", signer.certificate, "-inkey", signer.key,
        "-md", "sha256", *sign_flags, "-out", folder / "mdn.eml",
    )  # fmt: skip
    smime_headers, body = split_entity((folder / "mdn.eml").read_bytes())
    assert header(smime_headers, "Content-Type").startswith("multipart/signed")
    as2 = [("AS2-From", PARTNER), ("AS2-To", US), ("AS2-Version", "1.2"), ("Message-ID", "<mdn-1@northwind.test>")]
    return as2 + smime_headers, body


def our_message(parties: Parties, message_id: str) -> tuple[str, str]:
    outgoing = build_message(
        parties.our_side(), parties.their_side(), X12_CRLF, file_name=FILE_NAME, message_id=message_id
    )
    assert outgoing.mic is not None
    return outgoing.message_id, outgoing.mic


@pytest.mark.parametrize("sign_flags", [[], ["-crlfeol"]], ids=["lf-framing", "crlf-framing"])
def test_an_mdn_openssl_signed_confirms_delivery_of_our_message(
    parties: Parties, tmp_path: Path, sign_flags: list[str]
) -> None:
    message_id, sent_mic = our_message(parties, "mdn-ok@acmesupply.test")
    headers, body = openssl_mdn(tmp_path, mdn_report(message_id, sent_mic), parties.partner, sign_flags)
    result = read_mdn(parties.our_side(), parties.their_side(), headers, body, message_id=message_id, mic=sent_mic)
    assert result.delivered, result
    assert result.original_message_id == message_id


@pytest.mark.parametrize("wrong", ["mic", "signer", "message"])
def test_an_mdn_openssl_signed_with_another_mic_key_or_message_is_not_delivered(
    parties: Parties, tmp_path: Path, wrong: str
) -> None:
    message_id, sent_mic = our_message(parties, "mdn-bad@acmesupply.test")
    reported_id = "another@acmesupply.test" if wrong == "message" else message_id
    reported_mic = mic(b"something else") if wrong == "mic" else sent_mic
    signer = parties.impostor if wrong == "signer" else parties.partner
    headers, body = openssl_mdn(tmp_path, mdn_report(reported_id, reported_mic), signer)
    result = read_mdn(parties.our_side(), parties.their_side(), headers, body, message_id=message_id, mic=sent_mic)
    assert not result.delivered, result
    expected = {"mic": "processed/warning", "signer": "failed/Failure", "message": "failed/Failure"}[wrong]
    assert result.status == expected, result
