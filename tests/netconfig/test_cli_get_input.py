"""`config get` refuses a misspelt reading or device before contacting anything, and says what was meant."""

from __future__ import annotations

import pytest

from tests.support import run_cli


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("--all", "ospff"), "did you mean the reading 'ospf'?"),
        (("prov-wan11", "ospf"), "did you mean the device 'prov-wan1'?"),
    ],
)
def test_a_misspelt_word_is_bad_input_with_a_suggestion(args, hint):
    r = run_cli("config", "get", "--targets", "estate:lab", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert hint in r.stderr, r.stderr


def test_a_name_far_from_anything_gets_no_guess():
    r = run_cli("config", "get", "--targets", "estate:lab", "zzzz", "facts")
    assert r.returncode == 2 and "'zzzz'" in r.stderr and "did you mean" not in r.stderr, r.stderr
