"""Bad rule or waiver files: every problem at once, each with file, line, field and fix."""

from __future__ import annotations

from jinbao.errors import JinbaoError


class RuleFileError(JinbaoError):
    """A rules, clauses or waivers file is malformed; carries every problem found (exit 2)."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the compliance files")
