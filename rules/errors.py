"""Every error the decision core raises, drawn once."""


class RulesError(Exception):
    """Base of the decision core's errors."""


class CatalogError(RulesError):
    """The annotation catalog is missing, malformed or fails its schema."""


class PolicyError(RulesError):
    """The policy file is missing, malformed, fails its schema or names an unknown term."""
