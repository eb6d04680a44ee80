"""The hub: a broker for sharing information about people leaving prison between agencies.

Build the application with :func:`hub.app.create_app`; nothing here connects or reads a key on import.
"""
