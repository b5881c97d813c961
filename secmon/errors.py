"""The one exception type the CLI turns into a one-line error."""


class SecmonError(Exception):
    """A user-facing failure; its message is one line saying what and where."""
