"""``provisioner daemon``: scheduled and on-demand syncs in one long-lived process.

One worker thread runs every sync, so scheduled, signalled (SIGUSR1) and socket
(``provisioner sync --now``) requests never overlap; requests that arrive while a run
is in flight coalesce into a single follow-up run.
"""
