"""A partner's mailbox on their SFTP server.

We trust only host keys already in our known_hosts file: an unknown key or a changed one stops the
connection with the fingerprint seen and the command that trusts it, because accepting keys
silently is how a man in the middle gets a partner's orders. Connection problems are retried
with backoff; refused host keys and failed logins are not, since trying again cannot fix them
and repeated failed logins get our address blocked.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import posixpath
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TypeVar

import paramiko

from transport.mailbox import DoneAction, RemoteFile, Settling, TransportError, temporary_name
from transport.names import UnsafeName, checked_name
from transport.retry import Backoff, retried

T = TypeVar("T")
TRUST_COMMAND = "edi-engine partners trust-host-key PARTNER"
OnRetry = Callable[[int, BaseException, float], None]


@dataclass(frozen=True, kw_only=True)
class SftpSettings:
    """Where a partner's SFTP mailbox is and how we log in; secrets are already resolved.

    Keyword-only, so the fields can keep a readable order with defaults among them.
    """

    host: str
    port: int = 22
    username: str
    known_hosts: Path
    key_file: Path | None = None
    password: str | None = field(default=None, repr=False)
    key_passphrase: str | None = field(default=None, repr=False)
    inbound_dir: str = "."
    outbound_dir: str = "."
    archive_dir: str | None = None
    done_action: DoneAction = "delete"
    pattern: str = "*"  # matched against file names, case-sensitively (fnmatchcase)
    connect_timeout: float = 10.0
    operation_timeout: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)


class HostKeyRefused(TransportError):
    """The server offered a host key we do not trust: unknown, or different from the one we know."""

    def __init__(self, message: str, *, host: str, port: int, offered: paramiko.PKey, expected: Any = None) -> None:
        super().__init__(message)
        self.host = host
        self.port = port
        self.offered = offered
        self.expected = expected


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as OpenSSH prints it, so partners can compare it with theirs."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def fetch_host_key(host: str, port: int = 22, timeout: float = 10.0) -> paramiko.PKey:
    """The host key the server at host:port offers, read without logging in (to show and trust)."""
    where = _host_port(host, port)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        raise TransportError(f"cannot connect to {where}: {_describe(error)}") from error
    transport: Any = None
    try:
        transport = paramiko.Transport(sock)
        transport.banner_timeout = timeout
        transport.start_client(timeout=timeout)
        key: paramiko.PKey = transport.get_remote_server_key()
        return key
    except (OSError, EOFError, paramiko.SSHException) as error:
        raise TransportError(f"cannot read the host key of {where}: {_describe(error)}") from error
    finally:
        if transport is not None:
            transport.close()
        sock.close()


def trust_host_key(known_hosts: Path, host: str, port: int, key: paramiko.PKey) -> None:
    """Add ``key`` for host:port to ``known_hosts``, replacing a key of the same type for that host.

    The file is rewritten whole (paramiko keeps no comments) through a temporary file, so a crash
    never leaves it half-written.
    """
    keys = paramiko.HostKeys()
    if known_hosts.exists():
        keys.load(str(known_hosts))
    keys.add(_known_hosts_entry(host, port), key.get_name(), key)
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    temporary = known_hosts.with_name(f".{known_hosts.name}.{os.getpid()}.tmp")
    try:
        keys.save(str(temporary))
        os.replace(temporary, known_hosts)
    finally:
        temporary.unlink(missing_ok=True)


class _RefuseUnknownHost(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Refuses every host key not already trusted, remembering the one offered."""

    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self.offered: paramiko.PKey | None = None

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self.offered = key
        settings = self.settings
        raise HostKeyRefused(
            f"{_host_port(settings.host, settings.port)} offered the {key.get_name()} host key "
            f"{fingerprint(key)}, which is not in {settings.known_hosts}. Check the fingerprint with the partner, "
            f"then trust it with: {TRUST_COMMAND}",
            host=settings.host,
            port=settings.port,
            offered=key,
        )


class _Unreachable(Exception):
    """One connection attempt failed in a way a later attempt may not (refused, timed out, dropped)."""


class SftpMailbox:
    """A partner's inbound and outbound folders on their SFTP server (see ``transport.mailbox``)."""

    def __init__(
        self, settings: SftpSettings, settling: Settling | None = None, *, on_retry: OnRetry | None = None
    ) -> None:
        if settings.done_action == "move" and settings.archive_dir is None:
            raise ValueError("a mailbox that moves fetched files needs an archive folder")
        if settings.key_file is None and settings.password is None:
            raise ValueError(
                f"the SFTP mailbox at {_host_port(settings.host, settings.port)} needs a key or a password"
            )
        self.settings = settings
        self.settling = settling if settling is not None else Settling()
        #: Hears (attempt, error, wait) before each connection retry, for logging.
        self.on_retry = on_retry
        #: Names in the inbound folder that were refused (``transport.names``), with why: they stay there.
        self.refused: dict[str, str] = {}
        self._client: Any = None
        self._sftp: Any = None

    @property
    def where(self) -> str:
        return f"{self.settings.username}@{_host_port(self.settings.host, self.settings.port)}"

    def ready(self) -> list[RemoteFile]:
        folder = self.settings.inbound_dir
        entries: list[Any] = self._run(f"list {folder}", lambda sftp: sftp.listdir_attr(folder))
        listing: list[RemoteFile] = []
        self.refused = {}
        for entry in entries:
            name: str = entry.filename
            if entry.st_mode is None or not stat.S_ISREG(entry.st_mode) or not fnmatchcase(name, self.settings.pattern):
                continue
            try:
                checked_name(name)
            except UnsafeName as error:
                self.refused[name] = str(error)
                continue
            listing.append(RemoteFile(name, entry.st_size or 0, float(entry.st_mtime or 0)))
        return self.settling.ready(listing)

    def fetch(self, file: RemoteFile) -> bytes:
        path = posixpath.join(self.settings.inbound_dir, checked_name(file.name))

        def read(sftp: Any) -> bytes:
            with sftp.open(path, "rb") as handle:
                handle.prefetch()
                data: bytes = handle.read()
            return data

        return self._run(f"fetch {path}", read)

    def done(self, file: RemoteFile) -> None:
        name = checked_name(file.name)
        source = posixpath.join(self.settings.inbound_dir, name)
        if self.settings.done_action == "delete":
            self._run(f"delete {source}", lambda sftp: _remove(sftp, source))
            return
        assert self.settings.archive_dir is not None
        archive = self.settings.archive_dir

        def move(sftp: Any) -> None:
            _make_folders(sftp, archive)
            try:
                _replace(sftp, source, posixpath.join(archive, name))
            except FileNotFoundError:
                if _exists(sftp, source):
                    raise
                # Already gone: an earlier try moved it before the connection dropped.

        self._run(f"move {source} to {archive}", move)

    def put(self, name: str, data: bytes) -> str:
        final_name = checked_name(name)
        folder = self.settings.outbound_dir
        final = posixpath.join(folder, final_name)
        left_behind: list[str] = []

        def upload(sftp: Any) -> str:
            # A try cut off by a dropped connection left its temporary file; this one uses a fresh name.
            for stale in left_behind:
                with contextlib.suppress(OSError):
                    sftp.remove(stale)
            left_behind.clear()
            temporary = posixpath.join(folder, temporary_name(final_name))
            left_behind.append(temporary)
            try:
                sftp.putfo(io.BytesIO(data), temporary, file_size=len(data), confirm=True)
                _replace(sftp, temporary, final)
            except Exception as error:
                if not self._lost(error):
                    with contextlib.suppress(OSError):
                        sftp.remove(temporary)
                        left_behind.clear()
                raise
            left_behind.clear()
            return final_name

        return self._run(f"upload {final}", upload)

    def close(self) -> None:
        client, self._client, self._sftp = self._client, None, None
        if client is not None:
            client.close()

    def _run(self, what: str, operation: Callable[[Any], T]) -> T:
        """``operation(sftp)``; when the connection breaks, reconnect and try once more."""
        lost: BaseException | None = None
        for _ in range(2):
            try:
                sftp = self._session()
            except TransportError as error:
                if lost is None or isinstance(error, HostKeyRefused):
                    raise
                raise TransportError(
                    f"lost the connection to {self.where} during {what} ({_describe(lost)}); reconnecting failed: {error}"
                ) from error
            try:
                return operation(sftp)
            except Exception as error:
                if not self._lost(error):
                    if isinstance(error, OSError):
                        raise TransportError(f"cannot {what} on {self.where}: {_describe(error)}") from error
                    raise
                self.close()
                if lost is not None:
                    raise TransportError(
                        f"lost the connection to {self.where} during {what}, twice: {_describe(error)}"
                    ) from error
                lost = error
        raise AssertionError("unreachable")  # pragma: no cover

    def _lost(self, error: BaseException) -> bool:
        """Whether ``error`` means the connection is gone (rather than the server answering no)."""
        if isinstance(error, EOFError | paramiko.SSHException | TimeoutError | ConnectionError):
            return True
        return isinstance(error, OSError) and not self._active()

    def _active(self) -> bool:
        transport = self._client.get_transport() if self._client is not None else None
        return bool(transport is not None and transport.is_active())

    def _session(self) -> Any:
        if self._sftp is not None and self._active():
            return self._sftp
        self.close()
        backoff = self.settings.backoff
        try:
            self._client, self._sftp = retried(
                self._connect_once, backoff, retry_on=(_Unreachable,), on_retry=self.on_retry
            )
        except _Unreachable as error:
            cause = error.__cause__ if error.__cause__ is not None else error
            tries = "1 try" if backoff.attempts <= 1 else f"{backoff.attempts} tries"
            raise TransportError(
                f"cannot connect to {_host_port(self.settings.host, self.settings.port)} ({tries}): {_describe(cause)}"
            ) from cause
        return self._sftp

    def _connect_once(self) -> tuple[Any, Any]:
        settings = self.settings
        key = self._client_key()
        client = paramiko.SSHClient()
        try:
            if settings.known_hosts.exists():
                client.load_host_keys(str(settings.known_hosts))
        except (OSError, paramiko.SSHException, ValueError) as error:
            client.close()
            raise TransportError(f"cannot read known hosts {settings.known_hosts}: {_describe(error)}") from error
        client.set_missing_host_key_policy(_RefuseUnknownHost(settings))
        try:
            client.connect(
                settings.host,
                port=settings.port,
                username=settings.username,
                pkey=key,
                password=settings.password,
                look_for_keys=False,
                allow_agent=False,
                timeout=settings.connect_timeout,
                banner_timeout=settings.connect_timeout,
                auth_timeout=settings.connect_timeout,
                channel_timeout=settings.connect_timeout,
            )
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(settings.operation_timeout)
            return client, sftp
        except HostKeyRefused:
            client.close()
            raise
        except paramiko.BadHostKeyException as error:
            client.close()
            raise self._changed_key(error) from error
        except paramiko.AuthenticationException as error:
            client.close()
            raise TransportError(f"authentication failed for {self.where}: {_describe(error)}") from error
        except (OSError, EOFError, paramiko.SSHException) as error:
            client.close()
            raise _Unreachable(_describe(error)) from error
        except BaseException:
            client.close()
            raise

    def _client_key(self) -> Any:
        path = self.settings.key_file
        if path is None:
            return None
        passphrase = self.settings.key_passphrase
        try:
            # Positional: paramiko 3 calls it ``passphrase``, paramiko 5 ``password``; the key loader wants bytes.
            return paramiko.PKey.from_path(path, None if passphrase is None else passphrase.encode())
        except (OSError, ValueError, TypeError, paramiko.SSHException) as error:
            raise TransportError(f"cannot use the client key {path}: {_describe(error)}") from None

    def _changed_key(self, error: Any) -> HostKeyRefused:
        settings = self.settings
        offered, expected = error.key, error.expected_key
        return HostKeyRefused(
            f"the host key of {_host_port(settings.host, settings.port)} CHANGED: {settings.known_hosts} expects "
            f"{expected.get_name()} {fingerprint(expected)}, the server offered {offered.get_name()} "
            f"{fingerprint(offered)}. This is an attack or a reinstalled server; confirm the new fingerprint with "
            f"the partner before trusting it with: {TRUST_COMMAND}",
            host=settings.host,
            port=settings.port,
            offered=offered,
            expected=expected,
        )


def _replace(sftp: Any, source: str, target: str) -> None:
    """Rename ``source`` to ``target``, replacing it (posix-rename where the server offers it)."""
    try:
        sftp.posix_rename(source, target)
    except OSError as error:
        if error.errno is not None:
            raise
        # No posix-rename@openssh.com: a plain SFTP rename refuses an existing target.
        with contextlib.suppress(FileNotFoundError):
            sftp.remove(target)
        sftp.rename(source, target)


def _remove(sftp: Any, path: str) -> None:
    """Delete ``path``; already gone is fine (an earlier try deleted it before the connection dropped)."""
    with contextlib.suppress(FileNotFoundError):
        sftp.remove(path)


def _exists(sftp: Any, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True


def _make_folders(sftp: Any, folder: str) -> None:
    if folder in ("", ".", "/") or _exists(sftp, folder):
        return
    _make_folders(sftp, posixpath.dirname(folder.rstrip("/")))
    try:
        sftp.mkdir(folder)
    except OSError:
        if not _exists(sftp, folder):  # made meanwhile by another poller is fine
            raise


def _known_hosts_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
