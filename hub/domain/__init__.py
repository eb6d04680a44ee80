"""Plain domain types: vocabularies, errors, the message envelope. No Flask, no SQLAlchemy."""
