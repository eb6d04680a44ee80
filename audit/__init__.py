"""The audit log's core: entries as RFC 8785 canonical JSON. No Flask, no SQLAlchemy."""
