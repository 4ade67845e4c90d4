from jinbao.errors import JinbaoError


class PkiError(JinbaoError):
    """A CA request was refused or failed; nothing was recorded or written."""


class NotAllowed(PkiError):
    """The operator's role does not allow this operation, or the operator could not be proven.

    `actor` names who asked once they proved they hold the key (a revoked operator still has a name); the CA logs
    every refusal in its audit log, and `logged` marks one that is already there."""

    def __init__(self, message: str, actor: str | None = None, claim: str | None = None):
        super().__init__(message)
        self.actor = actor
        self.claim = claim  # a certificate serial someone presented without proving its key: a claim, not a name
        self.logged = False


class Tampered(PkiError):
    """The CA's tables are not what it sealed (seal.py): it acts on nothing until they are."""

    def __init__(self, problems: list[str]):
        super().__init__(
            "; ".join(problems) + ". The CA does nothing until this is resolved: an auditor runs "
            "'jinbao pki audit verify' to see every difference from the log"
        )
        self.problems = problems
