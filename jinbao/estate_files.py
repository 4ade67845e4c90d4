"""Which files make an estate, and reading each one as text without ever crashing.

An estate folder is edited by people with editors, so it also holds what editors leave behind:
emacs lock files (`.#sites.yml`, a symlink to nowhere), vim swap files (`.sites.yml.swp`),
backups (`sites.yml~`). Those are not part of the estate and are skipped, as Ansible skips
them in an inventory folder. Everything else that claims to be YAML is read, and anything
that cannot be read becomes a Problem with its file and, where there is one, its line.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from pathlib import Path

from .problems import ProblemList
from .yamlsrc import Origin

SUFFIXES = (".yml", ".yaml")
# What file managers and people call a copy: 'sites (copy).yml', 'sites - Copy.yml',
# 'sites (2).yml', 'sites 副本.yml', 'sites.orig.yml', 'sites.bak.yml'.
_COPY_NAME = re.compile(r"copy|副本|\(\d+\)|\.orig\b|\.bak\b", re.I)
# An estate file is tens of kB; the 40,000-device national benchmark's largest is ~1 MB.
MAX_BYTES = 16 * 1024 * 1024


def is_editor_leftover(name: str) -> bool:
    """Hidden files (lock, swap, dot-files) and backups are never part of an estate."""
    return name.startswith(".") or name.endswith(("~", "#"))


def printable(text: str) -> str:
    """Text that came from the file system, safe to print: undecodable bytes become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def shown(path: Path) -> str:
    """The path as printed: relative to the working folder, and always printable.

    A file name written by a GBK system is not valid UTF-8; Python keeps its bytes as
    surrogates, which would crash printing. Show them as U+FFFD instead.
    """
    # Not resolve(): a symlinked file is shown by its own name, not its target's.
    try:
        text = str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except (ValueError, OSError):
        text = str(path)
    return printable(text)


def is_estate_file(name: str) -> bool:
    """A file name jinbao reads: .yml or .yaml, not an editor's leftover nor a plugin config."""
    return name.endswith(SUFFIXES) and not is_editor_leftover(name) and ".jinbao." not in name


def has_estate_files(folder: Path) -> bool:
    """Whether the folder has an estate file at its top level (not looking further down)."""
    try:
        with os.scandir(folder) as entries:
            return any(is_estate_file(e.name) and not e.is_dir() for e in entries)
    except OSError:
        return True  # let find() report the unreadable folder, with its reason


def find(root: Path, problems: ProblemList) -> list[Path]:
    """Every .yml/.yaml file under root, skipping editors' leftovers and hidden folders."""
    found: list[Path] = []

    def unreadable(err: OSError) -> None:
        problems.add(
            Origin(shown(Path(err.filename or root)), 1),
            "(file)",
            f"the folder cannot be read: {err.strerror}",
            "make it readable, or move it out of the estate",
        )

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            # os.walk does not follow a link to a folder: its files would be left out in silence.
            problems.add(
                Origin(shown(Path(folder) / d), 1),
                "(file)",
                f"{printable(d)} is a link to a folder, and linked folders are not read: its files are not part of "
                "the estate",
                "move or copy the files into the estate folder, or remove the link",
            )
        for d in dirs:
            if d.endswith(SUFFIXES):
                problems.add(
                    Origin(shown(Path(folder) / d), 1),
                    "(file)",
                    f"{d} is a folder, not a YAML file",
                    "rename the folder so its name does not end in .yml or .yaml",
                )
        for name in files:
            if is_estate_file(name):
                found.append(Path(folder) / name)
            elif is_estate_file(name.lower()) and not is_editor_leftover(name):
                # 'links.YML' from a Windows share would be skipped in silence, and every link
                # reported missing instead.
                stem, dot, ext = name.rpartition(".")
                problems.add(
                    Origin(shown(Path(folder) / name), 1),
                    "(file)",
                    f"{name} is not read: estate files end in .yml or .yaml, in lower case",
                    f"rename it to {stem}{dot}{ext.lower()}",
                )
    # Files named as copies are read last, so a name they repeat is reported at the copy's
    # line, not at the original's.
    return sorted(sorted(found), key=lambda f: bool(_COPY_NAME.search(f.name)))


def copies(texts: list[tuple[str, str | None]]) -> dict[str, str]:
    """Files whose text repeats another's, each with the file it copies.

    `cp sites.yml "sites (copy).yml"` defines every name twice. Of files with the same text,
    the one with the shortest name is taken as the original ('sites.yml', not 'sites (copy).yml'
    or 'sites.yml.orig.yml'), whichever is read first.
    """
    by_text: dict[str, list[str]] = {}
    for shown_as, text in texts:
        # Two files that are only comments (or empty) both add nothing: not worth a problem.
        if text and any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
            by_text.setdefault(text, []).append(shown_as)
    out = {}
    for same in by_text.values():
        if len(same) > 1:
            original = min(same, key=lambda s: (len(Path(s).name), s))
            out.update({s: original for s in same if s != original})
    return out


def read_text(path: Path, where: str, problems: ProblemList, root: Path | None = None) -> str | None:
    """The file's text, or None after adding a problem that says why it cannot be used.

    With root, a file that is a link to a file outside that folder is refused: an estate is its
    folder (it is copied, reviewed and kept in git as one), and a copy would still read the
    original's file, or a file that is not there on the next machine."""
    origin = Origin(where, 1)

    def bad(message, fix):
        problems.add(origin, "(file)", message, fix)

    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            bad(
                f"the file is a link to {printable(os.readlink(path))!r}, which does not exist",
                "remove the broken link or restore its target",
            )
        else:
            bad("the file disappeared while the estate was being read", "run the command again")
        return None
    except OSError as e:
        bad(f"the file cannot be read: {e.strerror}", "fix the link or the file's permissions")
        return None
    if stat.S_ISDIR(st.st_mode):
        bad("this is a folder, not a YAML file", "rename it so its name does not end in .yml or .yaml")
        return None
    if not stat.S_ISREG(st.st_mode):
        bad("the file is not a regular file (a device, pipe or socket)", "replace it with a plain text file")
        return None
    if root is not None and path.is_symlink():
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(os.path.realpath(root)):
            bad(
                f"the file is a link to {printable(str(target))!r}, outside the estate folder",
                "copy the file into the estate folder (or move the section it holds into one of the estate's files)",
            )
            return None
    if st.st_size > MAX_BYTES:
        bad(
            f"the file is {st.st_size // (1024 * 1024)} MiB; estate files are text of a few hundred kB at most",
            "check that this is the file you meant; split a real estate into several files",
        )
        return None
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except PermissionError:
        bad("the file cannot be read: permission denied", f"make it readable (chmod a+r {where})")
        return None
    except OSError as e:
        bad(f"the file cannot be read: {e.strerror}", "check the disk and the file")
        return None
    return decode(data, where, problems)


def decode(data: bytes, where: str, problems: ProblemList) -> str | None:
    """UTF-8 text (a leading BOM is fine). Anything else is reported at the first bad line."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        problems.add(
            Origin(where, 1),
            "(file)",
            "the file is saved as UTF-16, not UTF-8",
            "save it as UTF-8 (in Notepad: Save As, Encoding: UTF-8)",
        )
        return None
    if b"\0" in data[:8192]:
        problems.add(
            Origin(where, 1),
            "(file)",
            "the file is binary, not YAML text",
            "replace it with the YAML text, or remove it from the estate",
        )
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        hint = ""
        try:
            data.decode("gb18030")
            hint = "; it looks like GBK/GB18030 from a Windows editor"
        except UnicodeDecodeError:
            pass
        problems.add(
            Origin(where, line),
            "(file)",
            f"the file is not UTF-8 text (byte 0x{data[e.start]:02X} on this line){hint}",
            "save it as UTF-8 (your editor's Save As, Encoding: UTF-8; or iconv -f GB18030 -t UTF-8)",
        )
        return None
