"""Every error the trigger adapters raise, drawn once."""


class HandlerError(Exception):
    """Base of the adapters' errors."""


class PayloadError(HandlerError):
    """A payload Azure (or someone) sent cannot be read. Says where and what is wrong."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem

    def to_dict(self) -> dict:
        return {"field": self.where, "problem": self.problem}
