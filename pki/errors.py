from jinbao.errors import JinbaoError


class PkiError(JinbaoError):
    """A CA request was refused or failed; nothing was recorded or written."""


class NotAllowed(PkiError):
    """The operator's role does not allow this operation, or the operator could not be proven."""
