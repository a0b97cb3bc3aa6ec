"""Settings through pydantic-settings: environment first, embedded defaults second."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"


class KitSettings(BaseSettings):
    """Suite-wide settings (prefix ``PORTAL_``) and the broker (``AMQP_URI``)."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore")

    var_dir: Path = Path("var")
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")
    outbox_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    outbox_batch_size: int = Field(default=100, ge=1, le=10_000)
    db_pool_size: int = Field(default=12, ge=1, le=200)
    amqp_uri: str = Field(default=DEFAULT_AMQP_URI, validation_alias="AMQP_URI")


class DatabaseSettings(BaseSettings):
    """One database per service: ``<SERVICE>_DATABASE_URL``, else a SQLite file in var/."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = None


def database_url_for(service: str, kit: KitSettings | None = None) -> str:
    kit = kit or KitSettings()
    configured = DatabaseSettings(_env_prefix=f"{service.upper()}_").database_url  # type: ignore[call-arg]
    if configured:
        return normalise_database_url(configured)
    kit.var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(kit.var_dir / f'{service}.db').resolve()}"


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` spelling and use the psycopg 3 driver for it.

    libpq's multi-host form (``postgresql://user@h1:p1,h2:p2/db?target_session_attrs=read-write``,
    a primary and its standbys) is one SQLAlchemy cannot parse: its hosts are moved to
    SQLAlchemy's own spelling, one ``host=h:p`` query parameter each, which its psycopg
    dialect hands to libpq as the same host and port lists.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + _hosts_as_parameters(url[len(prefix) :])
    return url


def _hosts_as_parameters(rest: str) -> str:
    netloc, _, tail = rest.partition("/")
    credentials, at, hosts = netloc.rpartition("@")
    if "," not in hosts:
        return rest
    path, _, query = tail.partition("?")
    # A host without a port gets libpq's default one, as libpq would give it.
    spelled = [host if ":" in host else f"{host}:5432" for host in hosts.split(",")]
    parameters = [f"host={quote(host, safe='')}" for host in spelled]
    query = "&".join([*parameters, query] if query else parameters)
    return f"{credentials}{at}/{path}?{query}"
