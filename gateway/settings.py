"""Gateway settings: environment (prefix ``GATEWAY_``) first, embedded defaults second.

The broker comes from ``AMQP_URI`` like everywhere else in the suite.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from servicekit.settings import DEFAULT_AMQP_URI

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    amqp_uri: str = Field(default=DEFAULT_AMQP_URI, validation_alias="AMQP_URI")
    rpc_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    health_timeout_seconds: float = Field(
        default=1.5,
        gt=0,
        le=30,
        description="per-service deadline of GET /healthz; it must answer within 2 s",
    )
    amqp_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    public_base_url: str = "http://localhost:8000"
    # The payment processor's hosted card form, framed by Billing > Payment details: card
    # numbers are typed there, on the processor's origin, and only its token comes back.
    card_form_url: str = Field(default="http://127.0.0.1:8790/card-form", pattern=r"^https?://[^/?#]+/[^?#]*$")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="larger request bodies get 413")
    max_ingest_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024,
                                       description="the same for the backup engine's ingest (1,000 runs a call)")
    max_json_depth: int = Field(default=32, ge=2, le=1000, description="deeper JSON bodies get 422")
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode] = Field(
        default=(),
        description=(
            "addresses or networks (comma-separated) whose X-Forwarded-For is believed; "
            "empty: the client address is the socket peer"
        ),
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if isinstance(value, list | tuple):
            return tuple(ipaddress.ip_network(str(item), strict=False) for item in value)
        return value
