"""Exceptions quotegraph raises on purpose, so callers can tell them from bugs."""


class QuotegraphError(Exception):
    """Base class for every error quotegraph raises deliberately."""


class InputError(QuotegraphError, ValueError):
    """Bad input from the user (a missing file, a malformed line); the message is one line."""


class NotFoundError(InputError):
    """Something asked for by id (a statement, a speaker, an article) is not there."""
