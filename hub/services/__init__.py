"""The service layer: use cases that run in one unit of work each. No Flask here."""
