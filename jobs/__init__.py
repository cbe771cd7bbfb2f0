"""Background work: one job model, one set of job services, one sweeper, one progress partial, one Jobs page."""
