"""Golden files: text a test produces, compared byte for byte with a reviewed copy under tests/golden/.

On a mismatch the test fails with a unified diff (golden file first, what was produced second).

JINBAO_UPDATE_GOLDEN=1 rewrites the golden files that differ, writes missing ones and removes the
ones nothing produces any more, then fails the test naming what it rewrote: an update run is never
mistaken for a green one, and the rewrite is reviewed with `git diff tests/golden` before it is
committed. A second run with JINBAO_UPDATE_GOLDEN=1 then passes, as nothing is left to rewrite.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from . import REPO

GOLDEN = REPO / "tests" / "golden"
UPDATE_VAR = "JINBAO_UPDATE_GOLDEN"
# A changed allocator can move every address of the province; past this, the diff stops being read.
MAX_DIFF_LINES = 300


def updating() -> bool:
    return os.environ.get(UPDATE_VAR) == "1"


def _name(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _diff(path: Path, want: str | None, got: str | None) -> str:
    lines = list(
        difflib.unified_diff(
            (want or "").splitlines(keepends=True),
            (got or "").splitlines(keepends=True),
            fromfile=_name(path) if want is not None else "/dev/null",
            tofile="produced" if got is not None else "/dev/null",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... {len(lines) - MAX_DIFF_LINES} more diff lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _read(path: Path) -> str | None:
    # Bytes, not read_text: newline translation would hide a changed line ending.
    return path.read_bytes().decode() if path.is_file() else None


def check_tree(folder: Path, produced: dict[str, str]) -> None:
    """Compare each produced file (path relative to folder -> text) with its golden copy, and
    report golden files under folder that nothing produced."""
    mismatches: list[tuple[Path, str | None, str | None]] = []
    for rel, text in sorted(produced.items()):
        path = folder / rel
        want = _read(path)
        if want != text:
            mismatches.append((path, want, text))
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.relative_to(folder).as_posix() not in produced:
                mismatches.append((path, _read(path), None))
    if not mismatches:
        return
    if updating():
        for path, _, text in mismatches:
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(text.encode())
        for d in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
            if not any(d.iterdir()):
                d.rmdir()
        names = "\n".join(f"  {'removed' if text is None else 'wrote'} {_name(path)}" for path, _, text in mismatches)
        pytest.fail(f"{UPDATE_VAR}=1: golden files rewritten; review `git diff tests/golden`:\n{names}", pytrace=False)
    diffs = "".join(_diff(path, want, got) for path, want, got in mismatches)
    pytest.fail(
        f"{len(mismatches)} golden file(s) differ from what was produced "
        f"(if the change is intended: {UPDATE_VAR}=1 pytest ..., then review `git diff tests/golden`):\n{diffs}",
        pytrace=False,
    )


def check(path: Path, text: str) -> None:
    """One golden file (other files beside it are not this test's business)."""
    want = _read(path)
    if want == text:
        return
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
        pytest.fail(f"{UPDATE_VAR}=1: rewrote {_name(path)}; review `git diff tests/golden`", pytrace=False)
    pytest.fail(
        f"golden file {_name(path)} differs from what was produced "
        f"(if the change is intended: {UPDATE_VAR}=1 pytest ..., then review `git diff tests/golden`):\n"
        + _diff(path, want, text),
        pytrace=False,
    )
