"""Files the CA reads from and writes for people, made safe against what may be planted beside them.

A key file is 0600 from its first byte and never lands where a symlink points: every file is
created with O_EXCL|O_NOFOLLOW (a planted `x.key.tmp` or `x.key -> /etc/…` cannot redirect it), and
replacements go through a temporary file with a random name, then rename(2). Inputs are read
with a size limit, so `--csr /dev/zero` is refused instead of filling memory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .errors import PkiError

MAX_INPUT = 1 << 20  # a CSR, certificate, key or passphrase is a few kB; 1 MiB is already absurd


def read_input(path: str | os.PathLike, option: str, limit: int = MAX_INPUT) -> bytes:
    """The bytes of a file given on the command line, or a PkiError naming the option and the fix."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise PkiError(f"{option} {path}: cannot read it ({e.strerror}); give an existing, readable file") from None
    if len(data) > limit:
        raise PkiError(f"{option} {path}: larger than {limit} bytes; give the file itself, not a device or a stream")
    return data


def load(path: str | os.PathLike, parse, what: str, limit: int = MAX_INPUT):
    """parse(bytes) of a file the CA relies on; a damaged one is a PkiError that names it, not a traceback."""
    data = read_input(path, what, limit)
    try:
        return parse(data)
    except (ValueError, TypeError) as e:
        raise PkiError(f"{what} {path} is damaged ({str(e)[:200]}); restore it from a backup") from None


def _open_new(path: Path, mode: int) -> int:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except FileExistsError:
        raise PkiError(f"{path} exists (or is a symlink); choose another name or remove it") from None
    except OSError as e:
        raise PkiError(f"cannot create {path}: {e.strerror}") from None
    os.fchmod(fd, mode)  # the umask may have taken bits away; a key file is exactly 0600
    return fd


def _fill(fd: int, path: Path, data: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        path.unlink(missing_ok=True)
        raise PkiError(f"cannot write {path}: {e.strerror}") from None


def exposed(path: Path) -> str | None:
    """'mode 0644' when others than the owner may read or write the private key at path (ssh refuses such a key
    too), else None; a missing file is None, and reading it fails next with its own message."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return f"mode {mode & 0o777:04o}" if mode & 0o077 else None


def write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create `path`, which must not exist yet (not even as a dangling symlink)."""
    _fill(_open_new(path, mode), path, data)


def replace(path: Path, data: bytes, mode: int = 0o644):
    """Atomically replace `path` (a file of the CA folder): readers see the old or the new file, never half.

    Returns a function that puts the previous file back (or removes the new one if there was none): a
    transaction that fails after publishing runs it, so disk and database never disagree."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        raise PkiError(f"{path} is a symlink; the CA writes only its own files. Remove the link")
    previous = _previous(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    _fill(_open_new(tmp, mode), tmp, data)
    try:
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PkiError(f"cannot replace {path}: {e.strerror}") from None

    def undo() -> None:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            replace(path, previous[0], previous[1])

    return undo


def _previous(path: Path) -> tuple[bytes, int] | None:
    """The bytes and mode of the file about to be replaced; None if there is none (or it cannot be read, when
    the replacement fails anyway)."""
    try:
        with open(path, "rb") as f:
            return f.read(), os.fstat(f.fileno()).st_mode & 0o777
    except OSError:
        return None


def check_new(path: Path, option: str) -> None:
    """Refuse, before anything is signed, an output that could not be written or would overwrite something."""
    if os.path.lexists(path):
        what = "is a symlink" if path.is_symlink() else "already exists"
        raise PkiError(f"{option}: {path} {what}; choose another {option} or remove it")
    if len(path.name.encode()) > _name_max(path.parent):
        raise PkiError(
            f"{option}: the file name {path.name[:40]}… is too long for the file system; choose a shorter {option}"
        )
    if not path.parent.is_dir():
        raise PkiError(f"{option}: folder {path.parent} does not exist; create it or choose another {option}")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise PkiError(f"{option}: folder {path.parent} is not writable; choose another {option}")


def name_prefix(value: str | os.PathLike, option: str, what: str = "PREFIX.crt and PREFIX.key go beside it") -> Path:
    """A file-name prefix as typed (--out, --admin-out, --as). Its last component must be a name: pathlib quietly
    reads '' as '.', 'DIR/.' as 'DIR' and '/' as a path without a name, so PREFIX.crt would land as '.crt',
    'DIR.crt' or nowhere (a traceback). Checked on the text before pathlib sees it."""
    text = os.fspath(value)
    last = text.rsplit("/", 1)[-1]
    if last in ("", ".", "..") or "\0" in text:
        raise PkiError(f"{option} {text[:80]!r}: give a file name prefix such as ~/ops/alice ({what}), not a folder")
    return Path(text)


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


class Outputs:
    """PREFIX.crt and, when the CA made the key, PREFIX.key: checked before signing, written before the commit.

    in_place replaces files of the CA folder (the OCSP signer's) instead of creating new ones."""

    def __init__(self, out: str | os.PathLike, with_key: bool = True, option: str = "--out", in_place: bool = False):
        prefix = name_prefix(out, option)
        self.crt = prefix.with_name(prefix.name + ".crt")
        self.key = prefix.with_name(prefix.name + ".key") if with_key else None
        self.option = option
        self.in_place = in_place
        self._undo = []

    def check(self) -> Outputs:
        for f in (self.crt, self.key):
            if f is not None and not self.in_place:
                check_new(f, self.option)
        return self

    def write(self, cert_pem: bytes | None, key_pem: bytes | None) -> None:
        """Write what is given, all or none; the caller's transaction commits only after this returns, and runs
        remove() if it then fails. cert_pem None: the certificate comes after the commit (write_cert)."""
        self._undo = []
        try:
            if self.key is not None and key_pem is not None:
                self._put(self.key, key_pem, 0o600)
            if cert_pem is not None:
                self._put(self.crt, cert_pem, 0o644)
        except BaseException as e:
            self.remove()
            if isinstance(e, PkiError):
                raise PkiError(f"{self.option}: {e}; nothing was issued") from None
            raise

    def write_cert(self, cert_pem: bytes, serial: str) -> None:
        """The certificate, once the CA has recorded it: a failure now loses nothing the CA cannot give again.
        remove() still takes both files away (a failed 'pki init' removes its first administrator's)."""
        try:
            self._put(self.crt, cert_pem, 0o644)
        except PkiError as e:
            key = f" (its key is in {self.key})" if self.key is not None and self.key.exists() else ""
            raise PkiError(
                f"certificate {serial} is issued and recorded{key}, but {self.option}: {e}. "
                f"'jinbao pki show {serial}' prints it"
            ) from None

    def _put(self, path: Path, data: bytes, mode: int) -> None:
        if self.in_place:
            self._undo.append(replace(path, data, mode))
        else:
            write_new(path, data, mode)
            self._undo.append(lambda: path.unlink(missing_ok=True))

    def remove(self) -> None:
        """Undo write() after a failed commit: new files go, files replaced in place get their old content back
        (the OCSP signer on disk stays the one the database knows)."""
        for undo in reversed(self._undo):
            undo()
        self._undo = []
