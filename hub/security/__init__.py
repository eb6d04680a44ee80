"""Keys, tokens, encryption, passwords. Framework-free except `oauth.py`, the Authlib glue."""
