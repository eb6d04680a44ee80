"""Data sharing agreements (files in `agreements/`) and the engine that applies them.

No Flask, no SQLAlchemy: a decision is a pure function of the agreements and the request.
"""
