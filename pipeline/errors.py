"""Every error the pipeline raises, drawn once."""


class PipelineError(Exception):
    """Base of the pipeline's errors."""


class SettingsError(PipelineError):
    """An app setting has a value the app cannot use; the message names the setting."""
