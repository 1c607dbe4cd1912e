"""The one exception type that the command line turns into a clean message and a non-zero exit."""


class ConfigError(ValueError):
    """A setting that cannot work; the message says how to fix it."""
