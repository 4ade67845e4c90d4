"""Render each device's intended config from the estate: Jinja2 templates over jinbao.intent.

Templates live in templates/<platform>/. Every top-level `<syntax>.j2` there is an entry
template and makes one file per device, `<device>.<syntax>.conf`; files starting with `_` are
partials. A Linux firewall (`nftables`) has two: its ruleset and, through an include of the FRR
template, the config of its routing daemon. Adding a platform is adding its folder; a checker
for its syntax is one module in netconfig/checks/.

Secrets are rendered as markers (`{{ secret(ref) }}` → `<secret env:…>`) so that nothing written
to disk holds a value; jinbao.secrets.resolve_secrets() fills them in on the way to a device.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator, Mapping
from functools import cache
from ipaddress import IPv4Address
from pathlib import Path

import jinja2

from jinbao.errors import JinbaoError
from jinbao.intent import DeviceIntent, device_intent, intents
from jinbao.model import Device, Estate
from jinbao.secrets import marker

# JINBAO_NETCONFIG_TEMPLATES points at another template tree: to try a template change (or a
# broken one, in the tests) without touching the installed one.
TEMPLATES = Path(
    os.environ.get("JINBAO_NETCONFIG_TEMPLATES") or Path(__file__).resolve().parent / "templates"
).resolve()


class TemplateError(JinbaoError):
    """A template failed for a device: says which template, which line and which device."""

    def __init__(self, device: str, template: str, line: int | None, message: str):
        self.device, self.template, self.line = device, template, line
        super().__init__(f"{template}:{line or '?'}: rendering {device}: {message}")


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,  # a misspelt field is an error, never an empty line
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # configs, not HTML
    )
    env.globals["secret"] = marker
    # VRP and Comware print OSPF areas dotted (`area 0.0.0.10`); the intent keeps them numbers.
    env.filters["dotted"] = lambda n: str(IPv4Address(int(n)))
    return env


def platforms() -> tuple[str, ...]:
    """The platforms that have templates."""
    return tuple(sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir() and any(p.glob("*.j2"))))


@cache
def entry_templates(platform: str) -> tuple[str, ...]:
    """The entry templates of a platform, as loader names (`frr/frr.j2`); empty if it has none."""
    folder = TEMPLATES / platform
    if not folder.is_dir():
        return ()
    return tuple(f"{platform}/{t.name}" for t in sorted(folder.glob("*.j2")) if not t.name.startswith("_"))


def syntax_of(template: str) -> str:
    """The syntax an entry template writes (`nftables/frr.j2` → frr), which names its checker."""
    return Path(template).name.removesuffix(".j2")


def file_name(device: str, syntax: str) -> str:
    return f"{device}.{syntax}.conf"


def render_intent(intent: DeviceIntent) -> dict[str, str] | None:
    """The device's files by syntax, or None when its platform has no templates."""
    names = entry_templates(intent.platform)
    if not names:
        return None
    return {syntax_of(name): _render(name, intent) for name in names}


def _render(name: str, intent: DeviceIntent) -> str:
    try:
        return _env().get_template(name).render(d=intent, m=intent.management)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(intent.name, e.name or name, e.lineno, e.message or "syntax error") from None
    except Exception as e:
        template, line = _template_frame(e, name)
        raise TemplateError(intent.name, template, line, f"{type(e).__name__}: {e}") from None


def _template_frame(e: BaseException, fallback: str) -> tuple[str, int | None]:
    # Jinja maps its frames back to template files and lines; the innermost one is the culprit.
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        path = Path(frame.filename)
        if path.suffix == ".j2" and TEMPLATES in path.parents:
            return str(path.relative_to(TEMPLATES)), frame.lineno
    return fallback, None


def renderer(estate: Estate, device: Device) -> Mapping[str, str] | None:
    """The `jinbao.renderers` entry point: one device's files, as jinbao.rendering.rendered() offers them."""
    return render_intent(device_intent(estate, device.name))


def render_estate(estate: Estate, names: list[str]) -> Iterator[tuple[str, dict[str, str] | None]]:
    """(device, its files or None) for each named device; the intent is computed once for all."""
    all_intents = intents(estate)
    for name in names:
        yield name, render_intent(all_intents[name])
