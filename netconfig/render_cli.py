"""`jinbao config render`: write every selected device's intended config, checked."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jinbao.console import err, finish, out, print_failures, shown
from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.names import did_you_mean
from jinbao.result import AggregatedResult, Result

from . import checks
from .checks.finding import Finding
from .render import TEMPLATES, file_name, render_estate


def _selected(e, sites: tuple[str, ...], devices: tuple[str, ...]) -> list[str]:
    for s in sites:
        if s not in e.sites:
            raise JinbaoError(
                f"no site {s!r} in estate {e.name}; {did_you_mean(s, e.sites, 'see jinbao inventory show')}"
            )
    for d in devices:
        if d not in e.devices:
            raise JinbaoError(
                f"no device {d!r} in estate {e.name}; {did_you_mean(d, e.devices, 'see jinbao inventory show')}"
            )
    chosen = [
        name for name, d in e.devices.items() if (not sites or d.site in sites) and (not devices or name in devices)
    ]
    if not chosen:
        raise JinbaoError("the selection matches no device: --device names a device outside every --site given")
    return chosen


def _templates_present() -> None:
    if not TEMPLATES.is_dir() or not any(TEMPLATES.glob("*/*.j2")):
        raise JinbaoError(
            f"no templates in {TEMPLATES} (JINBAO_NETCONFIG_TEMPLATES?): point it at a copy of "
            "netconfig/templates, or unset it"
        )


def _prepare_out(out_path: Path) -> None:
    try:
        out_path.mkdir(parents=True, exist_ok=True)
        probe = out_path / ".jinbao-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise JinbaoError(f"cannot write into --out {out_path}: {e.strerror}; choose a folder you can write") from None


def _checked(name: str, files: dict[str, str], paths: dict[str, Path]) -> Result:
    # Every checker speaks Finding (line, text, rule, message, fix); the result carries each one
    # as a sentence prefixed with the file it is in.
    problems = []
    for syntax, text in files.items():
        found: list[Finding] = checks.check(syntax, text) or []
        problems += [f"{paths[syntax].name}: {f}" for f in found]
    return Result(
        name, "render", data=[str(p) for p in paths.values()], failed=bool(problems), problems=tuple(problems)
    )


@click.command()
@click.option("--site", "sites", multiple=True, help="Only the devices of this site (repeatable).")
@click.option("--device", "devices", multiple=True, help="Only this device (repeatable).")
@click.option("--out", "out_dir", default="out/config", show_default=True, type=click.Path(file_okay=False))
@click.option("--check/--no-check", default=True, show_default=True, help="Check each file with its platform's parser.")
@click.pass_context
def render(ctx, sites, devices, out_dir, check):
    """Render each device's intended config into OUT/<device>.<syntax>.conf, secrets as references.

    Exit 2 on a template error (naming template:line and device), 1 when a rendering fails its check."""
    e = load_estate(ctx.find_root().obj["estate"])
    names = _selected(e, sites, devices)
    _templates_present()
    out_path = Path(out_dir)
    _prepare_out(out_path)
    # Every device renders before any file is written: a template error (exit 2) leaves the
    # folder as it was, never half old and half new.
    renderings = list(render_estate(e, names))
    agg = AggregatedResult("render")
    untemplated: Counter[str] = Counter()
    unchecked: Counter[str] = Counter()
    written = 0
    progress = Progress(
        TextColumn("render"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True
    )
    with progress, ThreadPoolExecutor(max_workers=4) as pool:
        bar = progress.add_task("render", total=len(names))
        pending = []
        for name, files in renderings:
            if files is None:
                untemplated[e.devices[name].platform] += 1
                progress.advance(bar)
                continue
            paths = {syntax: out_path / file_name(name, syntax) for syntax in files}
            for syntax, text in files.items():
                try:
                    paths[syntax].write_text(text)
                except OSError as err_:
                    raise JinbaoError(f"cannot write {paths[syntax]}: {err_.strerror}") from None
                written += 1
                if check and not checks.has_checker(syntax):
                    unchecked[syntax] += 1
            if check:
                pending.append(pool.submit(_checked, name, files, paths))
                pending[-1].add_done_callback(lambda _f: progress.advance(bar))
            else:
                agg.add(Result(name, "render", data=[str(p) for p in paths.values()]))
                progress.advance(bar)
        for f in pending:
            r = f.result()
            agg.add(r)
    mark = f"[red]✗[/] {len(agg.failed_hosts)} failed their check; " if agg.failed else "[green]✓[/] "
    out.print(f"{mark}rendered {written} file(s) for {len(agg.results)} device(s) into {shown(str(out_path))}")
    if untemplated:
        out.print(
            "  not rendered (no templates for the platform; appliances are watched, not configured): "
            + ", ".join(f"{n} {shown(p)}" for p, n in sorted(untemplated.items()))
        )
    if check and unchecked:
        out.print("  no checker for: " + ", ".join(f"{n} {shown(s)}" for s, n in sorted(unchecked.items())))
    if agg.failed_hosts:
        print_failures(agg)
    finish(agg)
