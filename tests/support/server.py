"""Starting a real hub for end-to-end tests and benchmarks: `hub db upgrade`, `hub demo` and
`hub serve` (gunicorn) as separate processes, exactly as `make run` does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningHub:
    url: str
    credentials: dict[str, Any]
    env: dict[str, str]
    log: Path

    @property
    def token_endpoint(self) -> str:
        return self.url + "/oauth/token"


def start_hub(
    var_dir: Path,
    database_url: str,
    *,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
    log_name: str = "server.log",
    port: int | None = None,
) -> tuple[subprocess.Popen[bytes], RunningHub]:
    """A hub on its own port. Another hub on the same database and `var_dir` (same keys), with
    `HUB_ISSUER` set to the first one's URL in `extra_env`, is a second process of one hub."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HUB_ENV": "demo",
        "HUB_VAR_DIR": str(var_dir),
        "HUB_DATABASE_URL": database_url,
        "HUB_ISSUER": url,
        "HUB_BIND": f"127.0.0.1:{port}",
        "HUB_WORKERS": str(workers),
        "HUB_LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run(
            [str(BIN / "hub"), *command], env=env, check=True, capture_output=True, timeout=120
        )
    log = var_dir / log_name
    with log.open("wb") as log_file:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(  # noqa: S603
            [str(BIN / "hub"), "serve"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "/readyz", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"the hub did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    credentials = json.loads((var_dir / "demo" / "credentials.json").read_text())
    return process, RunningHub(url, credentials, env, log)


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the hub did not start")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
