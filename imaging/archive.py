"""Reading the members of an uploaded ZIP without trusting it.

- At most `max_members` entries are looked at; the rest are reported as skipped.
- Each member is read in pieces and its bytes are COUNTED while reading (the sizes in the ZIP's
  headers are never trusted): a member that inflates past `max_member_bytes`, past
  `max_ratio` times its compressed size, or past what is left of `max_total_bytes` is abandoned
  at that point and reported.
- Member paths are shown (the file name only, cleaned) but never used to write anything.
- Symbolic links, directories, encrypted members, absolute or `..` paths and nested archives
  (ZIP, gzip, tar, 7-Zip, RAR by content or name) are skipped with a reason.
"""

from __future__ import annotations

import posixpath
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

READ_PIECE = 256 * 1024
ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".zst")
ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x07\x08",
    b"\x1f\x8b",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    max_members: int = 10_000
    max_member_bytes: int = 512 * 1024 * 1024
    max_total_bytes: int = 4 * 1024 * 1024 * 1024
    max_ratio: int = 200


@dataclass(frozen=True)
class Member:
    """One member: `data` when it was read, else `skipped` says why."""

    name: str
    data: bytes | None = None
    skipped: str = ""


class NotAZip(Exception):
    """The upload is not a readable ZIP archive."""


def display_name(name: str) -> str:
    """A member's file name for the report: the last path part, without control characters."""
    base = posixpath.basename(name.replace("\\", "/").rstrip("/")) or name
    return _CONTROL.sub("", unicodedata.normalize("NFC", base)).strip()[:200] or "(unnamed)"


def is_archive(data: bytes, name: str = "") -> bool:
    return data.startswith(ARCHIVE_MAGIC) or name.lower().endswith(ARCHIVE_SUFFIXES) or _is_tar(data)


def _is_tar(data: bytes) -> bool:
    return len(data) > 262 and data[257:262] == b"ustar"


def _unsafe_path(name: str) -> bool:
    path = name.replace("\\", "/")
    return path.startswith("/") or bool(re.match(r"^[a-zA-Z]:", path)) or ".." in path.split("/")


def _skip_reason(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "A symbolic link inside the ZIP; links are never followed."
    if info.flag_bits & 0x1:
        return "A password-protected member; upload it without a password."
    if _unsafe_path(info.filename):
        return "Its path points outside the archive (an absolute path or ..); refused."
    if info.filename.lower().endswith(ARCHIVE_SUFFIXES):
        return "An archive inside the archive; nested archives are not opened."
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        return "A compression method this server does not read."
    return ""


class _TooLarge(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _read_counted(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: int) -> bytes:
    """The member's bytes, counted while inflating; _TooLarge as soon as a limit is passed."""
    cap_ratio = max(info.compress_size, 1) * limits.max_ratio
    pieces: list[bytes] = []
    count = 0
    with archive.open(info) as handle:
        while True:
            piece = handle.read(READ_PIECE)
            if not piece:
                break
            count += len(piece)
            if count > limits.max_member_bytes:
                raise _TooLarge(f"It unpacks to more than {limits.max_member_bytes // (1024 * 1024)} MB.")
            if count > budget:
                raise _TooLarge("The archive unpacks to more than the total allowed for one upload.")
            if count > cap_ratio and count > 1024 * 1024:
                raise _TooLarge(f"It inflates more than {limits.max_ratio} times its packed size (a ZIP bomb?).")
            pieces.append(piece)
    return b"".join(pieces)


def iter_members(source: IO[bytes], limits: Limits | None = None) -> Iterator[Member]:
    """Each file member of the ZIP in `source`, read safely, or skipped with a reason. Raises NotAZip."""
    limits = limits or Limits()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise NotAZip("The file is not a readable ZIP archive.") from None
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        total = 0
        for position, info in enumerate(infos):
            name = display_name(info.filename)
            if position >= limits.max_members:
                yield Member(
                    name=name, skipped=f"The ZIP has more than {limits.max_members} files; the rest were not read."
                )
                continue
            reason = _skip_reason(info)
            if reason:
                yield Member(name=name, skipped=reason)
                continue
            try:
                data = _read_counted(archive, info, limits, limits.max_total_bytes - total)
            except _TooLarge as exc:
                yield Member(name=name, skipped=exc.reason)
                continue
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
                yield Member(
                    name=name, skipped="The member is damaged (it failed its checksum or could not be unpacked)."
                )
                continue
            total += len(data)
            if is_archive(data):
                yield Member(name=name, skipped="An archive inside the archive; nested archives are not opened.")
                continue
            yield Member(name=name, data=data)


def member_count(source: IO[bytes]) -> int:
    """How many file members the ZIP lists (for progress; the reading itself counts again)."""
    try:
        with zipfile.ZipFile(source) as archive:
            return sum(1 for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return 0
    finally:
        source.seek(0)
