"""`audit run --lab ID` for a lab that is not on this machine: exit 2 naming the labs there are, and
no run kept (it once judged the lab estate's rendered intent as if it were that lab's devices)."""

from __future__ import annotations

from tests.support import run_cli


def test_a_lab_that_is_not_up_is_exit_2_and_no_run_is_kept(tmp_path):
    labs = tmp_path / "labs"
    (labs / "jbother").mkdir(parents=True)
    (labs / "jbother" / "state.json").write_text('{"held_by": "pid 1"}')
    state = tmp_path / "state"
    env = {"JINBAO_STATE_DIR": str(state), "JINBAO_LAB_ROOT": str(labs)}
    r = run_cli("audit", "run", "--lab", "jbnosuch", "--no-monitoring", env=env, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert "no lab jbnosuch" in r.stderr and "jbother" in r.stderr, r.stderr
    assert not list(state.rglob("*.json"))
