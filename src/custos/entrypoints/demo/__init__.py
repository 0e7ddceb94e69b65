"""``custos demo``: simulated cameras, registered through the services, then served."""
