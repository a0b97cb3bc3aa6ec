"""``portal seed``: the demo distributor, its partners, accounts and administrator.

Runs against a started suite (it talks RPC, like any client) and is idempotent.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.context import CALLER_KEY, CORRELATION_ID_KEY
from servicekit.context import SYSTEM_CALLER
from servicekit.settings import KitSettings


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_DEMO_", extra="ignore")

    admin_email: str = "admin@northwind-backup.example"
    # A demo install's password, printed by `make run`; never use it for real data.
    admin_password: SecretStr = Field(default=SecretStr("northwind-demo-2026"), min_length=8)


def seed(amqp_uri: str | None = None, timeout: float = 30) -> dict[str, Any]:
    from nameko.standalone.rpc import ClusterRpcProxy

    import servicekit.rpc  # noqa: F401  (typed boundary errors)

    demo = DemoSettings()
    config = {"AMQP_URI": amqp_uri or KitSettings().amqp_uri, "serializer": "json"}
    context = {CALLER_KEY: SYSTEM_CALLER.to_wire(), CORRELATION_ID_KEY: "portal-seed"}
    with ClusterRpcProxy(config, context_data=context, timeout=timeout) as proxy:
        tree = proxy.tenancy.seed_demo()
        admin = proxy.identity.seed_demo_administrator(
            tree["distributor_id"], demo.admin_email, demo.admin_password.get_secret_value()
        )
    return {
        "distributor_id": tree["distributor_id"],
        "created": tree["created"] or admin["created"],
        "partners": tree["partners"],
        "accounts": tree["accounts"],
        "admin_email": demo.admin_email,
        "users": [f"{local}@{demo.admin_email.split('@')[-1]}" for local in admin.get("users", [])],
        "two_factor_secret": admin.get("two_factor_secret"),
    }
