"""Which devices a monitoring command polls: one selection for `poll`, `run` and `metrics`."""

from __future__ import annotations

import click

from jinbao.errors import JinbaoError
from jinbao.estate import load_estate
from jinbao.model import Estate
from jinbao.names import did_you_mean
from jinbao.target import estate_for, targets

from . import poller


def select(ctx: click.Context, source: str, estate: str | None, devices, sites) -> tuple[Estate, list[poller.Job]]:
    """The estate and the jobs for source's devices, narrowed by --device/--site; a misspelt
    name or an empty selection is bad input, raised before any device is contacted."""
    model = load_estate(estate_for(ctx, source, estate))
    found = targets(source)
    for s in sites:
        if s not in model.sites:
            raise JinbaoError(f"no site {s!r} in estate {model.name}; {did_you_mean(s, model.sites)}")
    for d in devices:
        if d not in found:
            raise JinbaoError(f"{source} has no device {d!r}; {did_you_mean(d, found)}")
    chosen = {
        n: t
        for n, t in found.items()
        if (not devices or n in devices) and (not sites or (n in model.devices and model.devices[n].site in sites))
    }
    todo = poller.jobs(model, chosen)
    if not todo:
        raise JinbaoError(f"no device of {source} is in estate {model.name} and matches the selection")
    return model, todo
