"""`audit report` and kept runs write only regular files of their own: never through a link planted
at a destination or at its temporary name, never into a FIFO, and a bad --out is exit 2 with
nothing written (not a traceback after half the set)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from compliance import keptruns, runner
from compliance.verdicts import Finding, Run, Verdict
from jinbao import state as jstate
from jinbao.errors import JinbaoError
from tests.support import run_cli

REPORT_FILES = ("report.json", "findings.csv", "report.html")


@pytest.fixture
def kept(tmp_path, monkeypatch):
    """One kept run with a finding, in a state folder of the test's own."""
    monkeypatch.setenv("JINBAO_STATE_DIR", str(tmp_path / "state"))
    verdict = Verdict("DR-DRILL-RECENT", "DR pair p0", "finding", (Finding("no drill"),))
    return runner.save(Run(verdicts=[verdict], sources={"dr": "test"}), "lab", None)


def _report(*args, timeout=120):
    r = run_cli("audit", "report", *args, timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def _decoys(tmp_path: Path, names) -> dict[str, Path]:
    victims = tmp_path / "victims"
    victims.mkdir()
    out = {}
    for name in names:
        v = victims / name
        v.write_text("root:x:0:0\n")
        out[name] = v
    return out


@pytest.mark.parametrize("planted", [("findings.csv",), ("report.json", "report.html"), ("report.pdf",)])
def test_a_symlink_planted_at_a_report_file_is_exit_2_and_nothing_is_written(kept, tmp_path, planted):
    out = tmp_path / "out"
    out.mkdir()
    decoys = _decoys(tmp_path, planted)
    for name, victim in decoys.items():
        (out / name).symlink_to(victim)
    r = _report("--out", str(out))  # with the PDF: report.pdf is checked like the others
    assert r.returncode == 2, r.stdout + r.stderr
    assert "symlink" in r.stderr and planted[0] in r.stderr
    for victim in decoys.values():
        assert victim.read_text() == "root:x:0:0\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(planted)  # no half-written set beside them


def test_a_fifo_at_findings_csv_is_refused_not_waited_on(kept, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "findings.csv")
    r = _report("--no-pdf", "--out", str(out), timeout=60)
    assert r.returncode == 2 and "FIFO" in r.stderr, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv"]


def test_a_directory_at_findings_csv_leaves_no_new_report_json(kept, tmp_path):
    out = tmp_path / "out"
    (out / "findings.csv").mkdir(parents=True)
    r = _report("--no-pdf", "--out", str(out))
    assert r.returncode == 2 and "directory" in r.stderr, r.stderr
    assert not (out / "report.json").exists()


@pytest.mark.parametrize("how", ["file", "under-a-file", "empty", "proc"])
def test_a_bad_out_is_exit_2_naming_it_with_nothing_written(kept, tmp_path, how):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    out = {"file": str(a_file), "under-a-file": str(a_file / "sub"), "empty": "", "proc": "/proc/jinbao-no-such"}[how]
    r = _report("--no-pdf", "--out", out, "--run", str(kept))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--out" in r.stderr
    assert a_file.read_text() == "x"
    # '' was once read as '.', the repo root the CLI runs in
    assert not any((Path(__file__).resolve().parents[2] / n).exists() for n in REPORT_FILES)


def test_report_files_and_kept_runs_are_the_owners_only(kept, tmp_path):
    out = tmp_path / "new" / "report"
    r = _report("--no-pdf", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for name in REPORT_FILES:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(keptruns.runs_dir().stat().st_mode) == 0o700
    assert json.loads((out / "report.json").read_text())["findings"]


def test_write_whole_never_follows_a_link_at_its_temporary_name(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    dst = tmp_path / "runs" / "r.json"
    dst.parent.mkdir()
    # the name an older write_whole used (pid): now random, and a guessed one is not followed either
    (dst.parent / f".r.json.{os.getpid()}.tmp").symlink_to(victim)
    monkeypatch.setattr(jstate.secrets, "token_hex", lambda n: "guessed")
    (dst.parent / ".r.json.guessed.tmp").symlink_to(victim)
    with pytest.raises(FileExistsError):
        jstate.write_whole(dst, "new")
    assert victim.read_text() == "keep" and not dst.exists()
    monkeypatch.undo()
    jstate.write_whole(dst, "new")
    assert victim.read_text() == "keep" and dst.read_text() == "new"


def test_write_whole_refuses_a_symlink_at_the_destination(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "r.json").symlink_to(victim)
    with pytest.raises(JinbaoError, match="symlink"):
        jstate.write_whole(tmp_path / "r.json", "new")
    assert victim.read_text() == "keep"


@pytest.mark.skipif(shutil.which("weasyprint") is None, reason="WeasyPrint is not installed")
def test_the_pdf_is_rendered_to_bytes_and_written_like_the_others(kept, tmp_path):
    out = tmp_path / "out"
    r = _report("--out", str(out), timeout=300)
    assert r.returncode == 0, r.stderr
    pdf = out / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and stat.S_IMODE(pdf.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == sorted([*REPORT_FILES, "report.pdf"])  # no temp left
