from jinbao.errors import JinbaoError


class PkiError(JinbaoError):
    """A CA request was refused or failed; nothing was recorded or written."""


class NotAllowed(PkiError):
    """The operator's role does not allow this operation, or the operator could not be proven.

    `actor` names who asked when the CA knows it (a revoked operator still has a name); the CA logs
    every refusal in its audit log, and `logged` marks one that is already there."""

    def __init__(self, message: str, actor: str | None = None):
        super().__init__(message)
        self.actor = actor
        self.logged = False
