"""The suite with two instances of every service, for the scale-out test.

:func:`scaled_supervisor_config` derives a supervisord file from ``config/supervisord.conf``
(so the two never drift apart): each service's program gets ``numprocs`` processes named
``<service>-<n>`` (``supervisorctl stop portal:billing-0``), each with its own log file
``<service>-<n>.log``. The gateway stays one process. The services' metrics ports are
left out (two processes cannot share one). ``scripts/run_suite.py`` runs it
when ``PORTAL_SUPERVISOR_CONFIG`` names it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISOR_CONFIG = ROOT / "config" / "supervisord.conf"
SERVICES = ("identity", "tenancy", "billing", "audit", "notify")


def scaled_supervisor_config(target: Path, instances: int = 2) -> Path:
    text = SUPERVISOR_CONFIG.read_text().replace("%(here)s", str(SUPERVISOR_CONFIG.parent))
    sections = re.split(r"(?m)^(?=\[)", text)
    out = []
    for section in sections:
        match = re.match(r"\[program:([a-z]+)\]", section)
        if match and match.group(1) in SERVICES:
            section = section.replace("%(program_name)s.log", "%(program_name)s-%(process_num)d.log")
            # Two processes cannot share one metrics port: the instances run without metrics.
            section = re.sub(r'(?m)^environment=PORTAL_METRICS_PORT="[^"]*"\n', "", section)
            header, _, body = section.partition("\n")
            section = f"{header}\nnumprocs={instances}\nprocess_name=%(program_name)s-%(process_num)d\n{body}"
        out.append(section)
    target.write_text("".join(out))
    return target


def instance_names(service: str, instances: int = 2) -> list[str]:
    return [f"{service}-{number}" for number in range(instances)]
