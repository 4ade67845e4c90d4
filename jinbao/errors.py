"""The one exception root. Every error jinbao raises on purpose derives from JinbaoError."""

from __future__ import annotations


class JinbaoError(Exception):
    """Base of every deliberate jinbao error; the CLI maps it to exit code 2 (bad input)."""


class TargetsFailed(JinbaoError):
    """The input was good and the work ran, but some targets did not do what was asked (a lab
    that did not converge, devices that failed). The CLI maps it to exit code 1, not 2."""


class InventoryError(JinbaoError):
    """The estate failed to load or validate. Carries every problem found, not just the first."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the inventory")


class SecretError(JinbaoError):
    """A secret reference could not be resolved (unset variable, missing file, bad vault)."""
