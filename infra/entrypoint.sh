#!/usr/bin/env bash
# Container entry point: bring the schema to the latest migration, then run a `hub` command
# (the image's CMD is `serve`, so by default this is `hub db upgrade` followed by `hub serve`).
#   docker compose run --rm hub keys rotate    ->  hub db upgrade; hub keys rotate
# Migrations are idempotent. `exec` hands PID 1 to hub, which execs gunicorn, so SIGTERM from
# `docker stop` reaches gunicorn directly and it shuts down gracefully.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    set -- serve
fi

hub db upgrade
exec hub "$@"
