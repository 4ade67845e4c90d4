"""The Nornir-style result model: one failing host is data; the others carry on."""

from jinbao.result import Result, run_task


def probe(host, fail_on):
    if host == fail_on:
        raise ConnectionError(f"{host} unreachable")
    return {"uptime": len(host)}


def test_one_failure_does_not_stop_the_others():
    seen = []
    agg = run_task(probe, ["a", "bb", "ccc"], fail_on="bb", on_done=seen.append)
    assert set(agg.results) == {"a", "bb", "ccc"}
    assert set(agg.failed_hosts) == {"bb"}
    assert "unreachable" in agg.results["bb"].exception
    assert agg.results["ccc"].data == {"uptime": 3} and not agg.results["ccc"].failed
    assert agg.exit_code() == 1 and len(seen) == 3


def test_all_ok_and_changed():
    agg = run_task(lambda h: Result(h, "push", changed=h == "x", diff="+ line"), ["x", "y"], name="push")
    assert agg.exit_code() == 0 and agg.changed and not agg.failed
    assert agg.results["x"].as_dict()["diff"] == "+ line"


def test_a_task_gets_the_target_itself_and_its_options():
    from jinbao.target import Target

    seen = {}

    def probe(t, dry_run):
        seen[t.name] = (t.host, dry_run)
        return Result(t.name, "probe", changed=not dry_run)

    ts = [Target("r1", "frr", "10.0.0.1", "ops"), Target("r2", "frr", "10.0.0.2", "ops")]
    agg = run_task(probe, ts, dry_run=True)
    assert seen == {"r1": ("10.0.0.1", True), "r2": ("10.0.0.2", True)}
    assert set(agg.results) == {"r1", "r2"} and not agg.changed and agg.exit_code() == 0
