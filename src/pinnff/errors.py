"""The one exception type that marks bad input (files, settings).

The CLI turns an :class:`InputError` into a single ``error:`` line and a
non-zero exit; any other exception is a bug and keeps its traceback.
"""


class InputError(Exception):
    """Bad user input: a file that is missing or malformed, a bad setting."""
