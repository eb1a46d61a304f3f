"""Every error the sweep raises, drawn once."""


class SweepError(Exception):
    """Base of the sweep's errors."""


class ScopeError(SweepError):
    """The scope names nothing to sweep, or names it in a way the sweep cannot use."""


class ReadError(SweepError):
    """An ARM list or instance-view read failed; the message says which and why.

    The sweep records it as a problem and goes on with the rest of the scope: one scale set
    that cannot be read must not hide the findings of every other one.
    """

    def __init__(self, what: str, problem: str):
        super().__init__(f"{what}: {problem}")
        self.what = what
        self.problem = problem
