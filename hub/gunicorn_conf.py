"""gunicorn settings for `hub serve`: the server's own log lines as JSON, like the app's, and
each worker's background work (the audit log's integrator) started once the app is loaded."""

from __future__ import annotations

from typing import Any

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

# On SIGTERM a worker finishes what it is serving for at most this long. Live streams never
# finish by themselves: after this they are closed and their clients reconnect (to another
# process) with Last-Event-ID, losing nothing. 10 s leaves ordinary requests time to complete.
graceful_timeout = 10


def post_worker_init(worker: Any) -> None:
    worker.wsgi.extensions["hub"].start_background()


def worker_exit(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is not None:
        app.extensions["hub"].close()
