"""Configuration from environment variables.

The default environment is production: it refuses to start without its secrets. Only the `demo`
and `test` environments generate secrets, and then only into files under `HUB_VAR_DIR` (mode 0600).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


class ConfigError(RuntimeError):
    """Start-up must fail loudly: a production secret is missing or a value is malformed."""


GENERATING_ENVS = {"demo", "test"}


@dataclass(frozen=True)
class Settings:
    env: str
    database_url: str
    issuer: str
    master_key: bytes = field(repr=False)
    secret_key: bytes = field(repr=False)
    var_dir: Path
    redis_url: str | None = None
    max_body_bytes: int = 1_048_576
    max_document_bytes: int = 64 * 1_048_576
    access_token_ttl: int = 600
    assertion_max_lifetime: int = 300
    clock_leeway: int = 30
    cookie_secure: bool = True
    session_ttl: int = 8 * 3600
    signin_max_failures: int = 5
    signin_window: int = 900
    log_level: str = "INFO"
    trusted_proxy_hops: int = 0
    # Webhooks: attempts before a send is dead-lettered (15 from 5 s: about 8 hours of retries);
    # the first retry's delay in seconds (doubling, with jitter, up to an hour); plain http and
    # this machine's own network allowed as targets (demo and tests only).
    webhook_max_attempts: int = 15
    webhook_retry_base: int = 5
    webhook_allow_http: bool = False
    # How long a relay may hold an outbox row it is sending before another relay may take it.
    outbox_lease: int = 60
    # The longest an audit entry waits, after its action commits, before a signed checkpoint
    # covers it (a transparency log's maximum merge delay), in seconds.
    audit_max_merge_delay: int = 10
    # Checkpoint verifier keys kept outside the database (C2SP vkeys): `hub audit verify` and the
    # verification page check signatures against these, not against the keys the database holds.
    audit_verifier_keys: tuple[str, ...] = ()
    # Outcome figures: the reconviction rate (percent) each cohort is compared with (HMP
    # Doncaster's 2009 baseline), and the smallest count shown (smaller ones are suppressed).
    outcome_baseline: float = 58.0
    outcome_min_count: int = 10
    policy_dir: Path = Path(__file__).resolve().parent.parent / "policies" / "agreements"

    @property
    def audit_origin(self) -> str:
        """The checkpoints' origin line: the hub's host and path, then `/audit`."""
        return self.issuer.split("://", 1)[-1].rstrip("/") + "/audit"

    @property
    def token_endpoint(self) -> str:
        return self.issuer + "/oauth/token"

    @property
    def audience(self) -> str:
        """The `aud` of access tokens: the hub's API (RFC 9068 section 3)."""
        return self.issuer + "/v1"

    @property
    def generates_secrets(self) -> bool:
        return self.env in GENERATING_ENVS

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("HUB_ENV", "production")
        var_dir = Path(env_vars.get("HUB_VAR_DIR", "var")).resolve()
        generating = env in GENERATING_ENVS
        database_url = env_vars.get("HUB_DATABASE_URL") or (
            f"sqlite:///{var_dir / 'hub.db'}" if generating else ""
        )
        if not database_url:
            raise ConfigError("HUB_DATABASE_URL is required in production")
        issuer = env_vars.get("HUB_ISSUER") or ("http://127.0.0.1:8000" if generating else "")
        if not issuer:
            raise ConfigError("HUB_ISSUER (the hub's public base URL) is required in production")
        return cls(
            env=env,
            database_url=database_url,
            issuer=issuer.rstrip("/"),
            master_key=_key(
                env_vars, "HUB_MASTER_KEY", var_dir / "keys" / "master.key", generating
            ),
            secret_key=_key(
                env_vars, "HUB_SECRET_KEY", var_dir / "keys" / "session.key", generating
            ),
            var_dir=var_dir,
            redis_url=env_vars.get("HUB_REDIS_URL") or None,
            max_body_bytes=_int(env_vars, "HUB_MAX_BODY_BYTES", 1_048_576),
            max_document_bytes=_int(env_vars, "HUB_MAX_DOCUMENT_BYTES", 64 * 1_048_576),
            access_token_ttl=_int(env_vars, "HUB_ACCESS_TOKEN_TTL", 600),
            assertion_max_lifetime=_int(env_vars, "HUB_ASSERTION_MAX_LIFETIME", 300),
            cookie_secure=env_vars.get("HUB_COOKIE_SECURE", "1") != "0",
            log_level=env_vars.get("HUB_LOG_LEVEL", "INFO").upper(),
            trusted_proxy_hops=_int(env_vars, "HUB_TRUSTED_PROXY_HOPS", 0, minimum=0),
            webhook_max_attempts=_int(env_vars, "HUB_WEBHOOK_MAX_ATTEMPTS", 15),
            webhook_retry_base=_int(env_vars, "HUB_WEBHOOK_RETRY_BASE", 5),
            webhook_allow_http=env_vars.get("HUB_WEBHOOK_ALLOW_HTTP", "1" if generating else "0")
            == "1",
            outbox_lease=_int(env_vars, "HUB_OUTBOX_LEASE", 60),
            audit_max_merge_delay=_int(env_vars, "HUB_AUDIT_MAX_MERGE_DELAY", 10),
            audit_verifier_keys=tuple(env_vars.get("HUB_AUDIT_VERIFIER_KEYS", "").split()),
            outcome_baseline=_percent(env_vars, "HUB_OUTCOME_BASELINE", 58.0),
            outcome_min_count=_int(env_vars, "HUB_OUTCOME_MIN_COUNT", 10),
        )


def _int(env_vars: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env_vars.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _percent(env_vars: Mapping[str, str], name: str, default: float) -> float:
    raw = env_vars.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a percentage from 0 to 100, not {raw!r}") from None
    if not 0 <= value <= 100:  # also refuses nan
        raise ConfigError(f"{name} must be a percentage from 0 to 100, not {raw!r}")
    return value


def _key(env_vars: Mapping[str, str], name: str, path: Path, generating: bool) -> bytes:
    """A 32-byte key, base64 in the environment; generated into `path` only outside production."""
    raw = env_vars.get(name)
    if raw:
        return _decode_key(name, raw)
    if not generating:
        raise ConfigError(f"{name} is required in production (32 random bytes, base64)")
    if path.exists():
        return _decode_key(str(path), path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    encoded = base64.b64encode(secrets.token_bytes(32)).decode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encoded + "\n")
    try:
        os.link(tmp, path)  # atomic, and fails if another process created the key first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return _decode_key(str(path), path.read_text().strip())


def _decode_key(name: str, raw: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name} is not valid base64") from None
    if len(key) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes, not {len(key)}")
    return key
