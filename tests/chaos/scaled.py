"""The suite with two instances of every service, and optionally two gateways behind HAProxy.

:func:`scaled_supervisor_config` derives a supervisord file from ``config/supervisord.conf``
(so the two never drift apart): each service's program gets ``numprocs`` processes named
``<service>-<n>`` (``supervisorctl stop portal:billing-0``), each with its own log file
``<service>-<n>.log``. The services' metrics ports are left out (two processes cannot share
one). ``scripts/run_suite.py`` runs it when ``PORTAL_SUPERVISOR_CONFIG`` names it.

With ``gateway_ports``, the gateway too runs once per port (``gateway-0``, ``gateway-1``)
and a ``proxy`` program runs HAProxy with ``ops/haproxy.cfg`` rendered for those ports
(:func:`proxy_config`): the suite's public port is the proxy's. That is what ``make chaos``
and ``make cluster-test`` run, so a gateway can die without its clients noticing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISOR_CONFIG = ROOT / "config" / "supervisord.conf"
PROXY_CONFIG = ROOT / "ops" / "haproxy.cfg"
SERVICES = ("identity", "tenancy", "billing", "audit", "notify")


def scaled_supervisor_config(target: Path, instances: int = 2, gateway_ports: Sequence[int] = (),
                             listen_port: int | None = None) -> Path:
    """Write the scaled supervisord file to ``target``; with ``gateway_ports`` (and the
    proxy's ``listen_port``) one gateway per port behind HAProxy."""
    text = SUPERVISOR_CONFIG.read_text().replace("%(here)s", str(SUPERVISOR_CONFIG.parent))
    sections = re.split(r"(?m)^(?=\[)", text)
    out = []
    for section in sections:
        match = re.match(r"\[program:([a-z]+)\]", section)
        name = match.group(1) if match else None
        if name in SERVICES:
            section = section.replace("%(program_name)s.log", "%(program_name)s-%(process_num)d.log")
            # Two processes cannot share one metrics port: the instances run without metrics.
            section = re.sub(r'(?m)^environment=PORTAL_METRICS_PORT="[^"]*"\n', "", section)
            header, _, body = section.partition("\n")
            section = f"{header}\nnumprocs={instances}\nprocess_name=%(program_name)s-%(process_num)d\n{body}"
        elif name == "gateway" and gateway_ports:
            section = "".join(_gateway_instance(section, number, port) for number, port in enumerate(gateway_ports))
            assert listen_port is not None, "the proxy needs the suite's public port"
            section += _proxy_program(proxy_config(target.parent / "haproxy.cfg", listen_port, gateway_ports))
        elif section.startswith("[group:portal]") and gateway_ports:
            gateways = ",".join(f"gateway-{number}" for number in range(len(gateway_ports)))
            section = section.replace(",gateway,", f",{gateways},proxy,")
        out.append(section)
    target.write_text("".join(out))
    return target


def _gateway_instance(section: str, number: int, port: int) -> str:
    section = section.replace("[program:gateway]", f"[program:gateway-{number}]", 1)
    return section.replace('GATEWAY_PORT="%(ENV_PORTAL_GATEWAY_PORT)s"', f'GATEWAY_PORT="{port}"')


def _proxy_program(config: Path) -> str:
    haproxy = shutil.which("haproxy") or "haproxy"
    # -db: stay in the foreground, logging to stdout, as supervisord expects.
    return f"""[program:proxy]
command={haproxy} -db -f {config}
directory=%(ENV_PORTAL_VAR_DIR)s
autorestart=true
startsecs=1
startretries=20
stopsignal=TERM
stopwaitsecs=10
redirect_stderr=true
stdout_logfile=%(ENV_PORTAL_VAR_DIR)s/log/%(program_name)s.log
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=3

"""


def proxy_config(target: Path, listen_port: int, gateway_ports: Sequence[int]) -> Path:
    """``ops/haproxy.cfg`` with local ports: it listens on ``listen_port`` (loopback) and
    balances over the gateways on ``gateway_ports``; Docker's resolver is left out."""
    text = PROXY_CONFIG.read_text()
    text = re.sub(r"(?ms)^resolvers docker\n.*?\n\n", "", text)
    text = text.replace("    bind :8000", f"    bind 127.0.0.1:{listen_port}")
    servers = "\n".join(f"    server gateway-{number} 127.0.0.1:{port}" for number, port in enumerate(gateway_ports))
    text = re.sub(r"(?m)^    server-template .*$", servers, text)
    target.write_text(text)
    return target


def instance_names(service: str, instances: int = 2) -> list[str]:
    return [f"{service}-{number}" for number in range(instances)]
