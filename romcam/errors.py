"""The one error type romcam raises for problems a user can fix; its message is one line."""


class RomcamError(Exception):
    """A failure with a clear one-line explanation (bad input, missing model, unreadable file)."""


class UsageError(RomcamError):
    """A wrong option value: the CLI exits with code 2."""
