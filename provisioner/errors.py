"""The provisioner's own exceptions.

Adapters catch their library's errors and raise one of these with the original
chained as ``__cause__``, so the CLI can print one line and the daemon can decide
what is retryable without importing ldap3 or SQLAlchemy.
"""


class ProvisionerError(Exception):
    """Base of every error the provisioner raises on purpose."""

    exit_code = 1


class ConfigError(ProvisionerError):
    """A setting is missing or invalid; the message names it."""

    exit_code = 2


class SourceError(ProvisionerError):
    """The UONET source could not be read; nothing was applied."""

    exit_code = 3


class DirectoryError(ProvisionerError):
    """The directory could not be reached or searched; nothing more was applied."""

    exit_code = 3


class StateError(ProvisionerError):
    """The state database could not be read or written."""

    exit_code = 3


class Busy(ProvisionerError):
    """Another sync holds the lock."""

    exit_code = 75  # EX_TEMPFAIL: try again later
