"""gunicorn settings for `hub serve`: the server's own log lines as JSON, like the app's."""

from __future__ import annotations

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hub.logs.JsonLineFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # Each request is logged by the app as `http.request`, with its request id.
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}

# gunicorn's runtime control socket (in $HOME by default) is not used: the hub is managed by its
# process supervisor and signals, and writes nothing outside its own directories.
control_socket_disable = True
