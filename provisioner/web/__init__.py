"""The self-service access page (``provisioner web``): ask for a link, set a password."""
