"""Device rules evaluated on a config's text: each finding on its line, or "no evidence".

Each pattern is first searched in the whole text at once (MULTILINE), and only on a hit line by
line: a clean config costs one regex scan per pattern, which keeps the province's 1,211
configs within the benchmark's budget. The whole-text search can only over-match (`\\s` may
cross a newline), never miss, so the per-line pass decides.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cache

from jinbao.redact import redact

from .configtext import ConfigText
from .registry import PlatformCheck, Rule, Step
from .verdicts import Finding, Verdict


@cache
def _ml(p: re.Pattern) -> re.Pattern:
    """p for one MULTILINE search over the whole text, kept from crossing line ends.

    A rule's pattern is meant for one line. Over the whole text `^\\s*` (or `[^#]*`) also eats
    newlines, so at each of N blank lines it runs on over all the blank lines after it and
    backtracks: N² steps (160,000 blank lines took 54 s). Each `\\s` becomes `[^\\S\\n]` and each
    negated class leaves out `\\n`: on any one line they match what they matched, so the lines
    found are the same (each is still confirmed with p on its own line) and the scan is linear."""
    try:
        return re.compile(_one_line(p.pattern), re.MULTILINE)
    except re.error:
        return re.compile(p.pattern, re.MULTILINE)


# The escapes that match a newline, and their one-line equivalents.
_CROSSING = {"s": "[^\\S\\n]", "W": "[^\\w\\n]", "D": "[^\\d\\n]"}


def _one_line(pattern: str) -> str:
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(_CROSSING.get(pattern[i + 1], pattern[i : i + 2]))
            i += 2
        elif c == "[":
            j = i + 1
            negated = j < n and pattern[j] == "^"
            j += 1 if negated else 0
            body_start = j
            if j < n and pattern[j] == "]":
                j += 1  # a ']' first in a class is itself a member
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            body = pattern[body_start:j]
            if negated:
                out.append(f"[^{body}\\n]")
            elif "\\s" in body.replace("\\\\", ""):
                rest = re.sub(r"(?<!\\)((?:\\\\)*)\\s", r"\1", body)
                out.append(f"(?:[^\\S\\n]|[{rest}])" if rest else "[^\\S\\n]")
            else:
                out.append(f"[{body}]")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


@cache
def _literal(p: re.Pattern) -> str:
    """The longest text every match must contain (from the pattern's top level), or "".

    A substring test is far cheaper than a regex scan of the whole config, and most forbidden
    lines are absent from most configs: `telnet server enable` rules out that step at once."""
    best, run = "", []
    try:
        items = list(re._parser.parse(p.pattern))  # type: ignore[attr-defined]
    except Exception:
        return ""
    for op, arg in [*items, (None, None)]:
        if str(op) == "LITERAL":
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return best if len(best) >= 3 else ""


def _maybe(p: re.Pattern, t: _Text) -> bool:
    lit = _literal(p)
    if lit and p.flags & re.IGNORECASE:
        # `(?i)`: the literal in any case. Only for ASCII, where lower() is re's own folding.
        lit = lit.lower() if lit.isascii() else ""
        found = not lit or lit in t.lower()
    else:
        found = not lit or lit in t.whole
    return found and _ml(p).search(t.whole) is not None


class _Text:
    def __init__(self, cfg: ConfigText):
        self.cfg = cfg
        self.lines = cfg.lines
        self.whole = cfg.text or "\n".join(cfg.lines)
        self._starts: list[int] | None = None
        self._lower: str | None = None

    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.whole.lower()
        return self._lower

    def _line_of(self, offset: int) -> int:
        if self._starts is None:
            self._starts, at = [], 0
            for x in self.lines:
                self._starts.append(at)
                at += len(x) + 1
        return bisect_right(self._starts, offset) - 1

    def _scan(self, p: re.Pattern, stop_at_first: bool) -> list[int]:
        """Lines where p matches, found from whole-text matches and confirmed line by line."""
        if not _maybe(p, self):
            return []
        out: list[int] = []
        for m in _ml(p).finditer(self.whole):
            # A match may start on an earlier line when its \s crosses a newline: confirm each
            # line it spans on its own.
            for i in range(self._line_of(m.start()), self._line_of(max(m.end() - 1, m.start())) + 1):
                if (not out or i > out[-1]) and p.search(self.lines[i]):
                    out.append(i)
                    if stop_at_first:
                        return out
        return out

    def hits(self, p: re.Pattern, lo: int = 0, hi: int | None = None) -> list[int]:
        """0-based indexes of the lines in [lo, hi) where p matches."""
        if hi is None:
            return self._scan(p, False)
        return [i for i in range(lo, hi) if p.search(self.lines[i])]

    def first(self, p: re.Pattern) -> int | None:
        found = self._scan(p, True)
        return found[0] if found else None

    def blocks(self, p: re.Pattern) -> list[tuple[int, int]]:
        """(header, end) of each block: the header's indented lines, up to the next at its depth."""
        out = []
        for h in self.hits(p):
            depth = len(self.lines[h]) - len(self.lines[h].lstrip())
            end = h + 1
            while end < len(self.lines):
                x = self.lines[end]
                if x.strip() and len(x) - len(x.lstrip()) <= depth:
                    break
                end += 1
            out.append((h, end))
        return out

    def finding(self, i: int | None, message: str) -> Finding:
        if i is None:
            return Finding(message, self.cfg.file)
        # The evidence is the line as written, with any secret on it masked: a report is filed
        # and shared, and an assessor's dump may hold passwords and communities in clear.
        return Finding(message, self.cfg.file, i + 1, redact(self.lines[i]))


def _step(t: _Text, s: Step, judged: bool) -> list[Finding]:
    if s.skip_if is not None and t.first(s.skip_if) is not None:
        return []
    anchor = None
    if s.when is not None:
        anchor = t.first(s.when)
        if anchor is None:
            return []
    if s.kind == "forbid":
        return [t.finding(i, "a line the rule forbids") for i in t.hits(s.pattern)]
    if s.kind == "require":
        if t.first(s.pattern) is not None or not (judged or anchor is not None):
            return []
        return [t.finding(anchor, f"no line like /{s.pattern.pattern}/")]
    if s.kind == "each":
        return _each(t, s)
    out = []
    inside = _inside(t.blocks(s.within)) if s.within is not None else None
    for h, end in t.blocks(s.pattern):
        if inside is not None and not inside(h):
            continue
        if s.having is not None and not t.hits(s.having, h + 1, end):
            continue
        bad = (
            [t.finding(i, f"in `{t.lines[h].strip()}`: a line the rule forbids") for i in t.hits(s.forbid, h + 1, end)]
            if s.forbid is not None
            else []
        )
        out += bad
        # A block already faulted for a forbidden line is one weakness, not two.
        if s.require is not None and not bad and not t.hits(s.require, h + 1, end):
            out.append(t.finding(h, f"`{t.lines[h].strip()}` has no line like /{s.require.pattern}/"))
    return out


# A placeholder with a blank on both sides in the template (`neighbor {1} password`): the value
# it is filled with is a whole word of any line the filled template matches.
_WORD_SLOT = re.compile(r"(?:(?<= )|(?<=\\s)|(?<=\\s\+))\{(\d+)\}(?= (?![*?{])|\\s(?![*?{]))")


def _each(t: _Text, s: Step) -> list[Finding]:
    """Each line matching s.pattern needs a line like s.unless filled in with its groups.

    The lines that could be such a line are found once, with every group a wildcard (a group is
    one line's text, which `.*` matches): a search of the whole text per item was quadratic
    (100,000 BGP neighbours took 95 s). When a group fills a whole word of the template, an item
    is tried only on the candidate lines holding that word; else on every candidate."""
    assert s.unless is not None
    items = [(i, m) for i in t.hits(s.pattern) if (m := s.pattern.search(t.lines[i])) is not None]
    if not items:
        return []
    try:
        wild = re.compile(s.unless.format(None, *(".*" for _ in items[0][1].groups())))
    except (re.error, IndexError, KeyError):  # a template that needs its values to compile
        wild = None
    cands = t.hits(wild) if wild is not None else None
    slot = _WORD_SLOT.search(s.unless)
    by_word: dict[str, list[int]] = {}
    for c in cands if slot else ():
        for w in set(t.lines[c].split()):
            by_word.setdefault(w, []).append(c)
    out = []
    for i, m in items:
        need = s.unless.format(None, *(re.escape(g or "") for g in m.groups()))
        word = m.group(int(slot.group(1))) if slot and int(slot.group(1)) <= len(m.groups()) else None
        if cands is None:
            found = t.first(re.compile(need)) is not None
        else:
            lines = by_word.get(word, ()) if word and word.split() == [word] else cands
            # compiled only when some line may hold it: most items in a weak config have none
            found = bool(lines) and any(re.search(need, t.lines[c]) for c in lines)
        if not found:
            out.append(t.finding(i, f"no line like /{need}/"))
    return out


def _inside(outer: list[tuple[int, int]]):
    """A test of whether a line lies strictly inside one of the outer blocks: each block's end
    against the latest end of the blocks opened before it (bisect, not every pair: 20,000
    policy headers took 10 s)."""
    heads = [h for h, _ in outer]  # blocks() gives them in line order
    reach, far = [], -1
    for _, end in outer:
        far = max(far, end)
        reach.append(far)

    def test(line: int) -> bool:
        k = bisect_left(heads, line)
        return k > 0 and reach[k - 1] > line

    return test


def _one_per_line(findings: list[Finding]) -> list[Finding]:
    """A line two steps of one rule both forbid (VRP's `set authentication password cipher X` is
    a reversible password twice over) is one weakness, reported once."""
    seen: set[int] = set()
    out = []
    for f in findings:
        if f.line is not None:
            if f.line in seen:
                continue
            seen.add(f.line)
        out.append(f)
    return out


def judged(t: _Text, pc: PlatformCheck) -> bool:
    return t.cfg.complete or (pc.evidence is not None and t.first(pc.evidence) is not None)


def evaluate(cfg: ConfigText, rules: tuple[Rule, ...], subject: str | None = None, **about) -> list[Verdict]:
    """One verdict per rule for this config."""
    t = _Text(cfg)
    subject = subject or cfg.file
    out = []
    for rule in rules:
        pc = rule.platforms.get(cfg.platform)
        if pc is None:
            out.append(Verdict(rule.id, subject, "not_applicable", note=f"no check for {cfg.platform}", **about))
            continue
        steps = [s for s in pc.steps if s.dialect in (None, cfg.dialect)]
        # Every step waits on a section (`when`) the config does not have. In a whole config there
        # is nothing to judge (a firewall rule on a router): "not applicable", not "conforms"; a
        # fragment may simply have left the section out, which the general case calls no evidence.
        waits = steps and all(s.when is not None for s in steps)
        if waits and cfg.complete and all(t.first(s.when) is None for s in steps):
            out.append(
                Verdict(rule.id, subject, "not_applicable", note="the section this rule judges is absent", **about)
            )
            continue
        ok = judged(t, pc)
        findings = _one_per_line(sorted((f for s in steps for f in _step(t, s, ok)), key=lambda f: f.line or 0))
        if findings:
            out.append(Verdict(rule.id, subject, "finding", tuple(findings), **about))
        elif ok:
            out.append(Verdict(rule.id, subject, "conforms", **about))
        else:
            note = "no evidence: the fragment lacks the section this rule reads; it is not judged compliant"
            out.append(Verdict(rule.id, subject, "no_evidence", note=note, **about))
    return out
