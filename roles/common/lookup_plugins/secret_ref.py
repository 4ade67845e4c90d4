"""Lookup `secret_ref`: the value behind a jinbao secret reference (env:NAME, file:PATH,
vault:FILE#KEY), resolved on the controller by jinbao.secrets, the same resolver the rest of jinbao
uses. Call it only in tasks with no_log: the value must never reach output or logs."""

from __future__ import annotations

DOCUMENTATION = r"""
    name: secret_ref
    short_description: Resolve a jinbao secret reference on the controller
    description:
      - Returns the value an env, file or vault reference points at.
    options:
      _terms:
        description: Secret references.
        required: true
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        from jinbao.errors import SecretError
        from jinbao.secrets import resolve

        try:
            return [resolve(str(t)) for t in terms]
        except SecretError as e:
            # the message names the reference and what is missing, never a value
            raise AnsibleLookupError(str(e)) from None
