"""Ansible lookup plugin: resolve a jinbao secret reference (env:, file:, vault:) on the controller.

The inventory carries references only; a role asks for the value at the moment it writes the one
file the service reads, with no_log on that task. Resolution is jinbao's own (jinbao.secrets), so
Ansible and the Python tools agree on what a reference means.
"""

from __future__ import annotations

DOCUMENTATION = r"""
    name: jinbao_secret
    short_description: The value behind a jinbao secret reference
    description:
      - Resolves env:NAME, file:PATH or vault:FILE#KEY on the controller, as jinbao does.
      - Fails naming the reference (never a value) when it cannot be resolved.
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

        out = []
        for ref in terms:
            try:
                out.append(resolve(str(ref)))
            except SecretError as e:
                raise AnsibleLookupError(f"{e} (set it on the controller before running the play)") from None
        return out
