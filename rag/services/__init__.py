"""Writes for knowledge bases: ``knowledge_base`` (bases and embedding models), ``ingest`` (sources, documents,
batches), ``chunks`` (inspector edits) and ``search`` (retrieval, read-only but with its own contract)."""
