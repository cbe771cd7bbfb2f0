"""Gate review packs: the registry of sections, building a pack as a job, printing it, and stakeholders' sign-offs."""
