"""The ``portal`` command's verbs: operational helpers around the services.

The kit knows no service: the command's entry point, services/cli.py, names them in an
explicit registry (service name → its migrations folder) and hands it to :func:`main`.

    portal migrate [SERVICE ...]          apply migrations (all services by default)
    portal revision SERVICE -m MESSAGE    autogenerate a migration from the models
    portal seed                           demo data into a running suite (idempotent)
    portal dead-letters list|show|replay  events handlers gave up on (servicekit.deadletters)
"""

from __future__ import annotations

# Patch first: ``portal seed`` talks nameko RPC, which needs a green standard library, and
# patching after threading is imported leaves un-greened locks behind (and a traceback).
import eventlet

eventlet.monkey_patch()

import argparse
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from alembic import command

from servicekit.db import make_engine
from servicekit.migrations import alembic_config, upgrade
from servicekit.settings import database_url_for, normalise_database_url

Registry = Mapping[str, Path]
"""Each service's name and its migrations folder, in the order they are migrated."""


def cmd_migrate(args: argparse.Namespace) -> int:
    unknown = [name for name in args.services if name not in args.registry]
    if unknown:
        print(f"unknown service {unknown[0]!r}: one of {', '.join(args.registry)}", file=sys.stderr)
        return 2
    for service in args.services or list(args.registry):
        # A service may run as a restricted role (audit: insert and select only); its
        # migrations then run as the owner named by <SERVICE>_MIGRATION_DATABASE_URL.
        owner_url = os.environ.get(f"{service.upper()}_MIGRATION_DATABASE_URL")
        url = normalise_database_url(owner_url) if owner_url else database_url_for(service)
        engine = make_engine(url)
        upgrade(engine, args.registry[service], service)
        engine.dispose()
        print(f"{service}: migrated ({engine.dialect.name})")
    return 0


def cmd_revision(args: argparse.Namespace) -> int:
    # Autogenerate against a scratch SQLite database brought to head first.
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/scratch.db")
        upgrade(engine, args.registry[args.service], args.service)
        with engine.begin() as connection:
            cfg = alembic_config(args.registry[args.service], connection)
            command.revision(cfg, message=args.message, autogenerate=True, rev_id=args.rev_id)
        engine.dispose()
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from servicekit.seed import DemoSettings, seed

    result = seed()
    state = "seeded" if result["created"] else "already seeded"
    print(
        f"demo data {state}: 1 distributor, {result['partners']} partners, {result['accounts']} accounts\n"
        f"  sign in as {result['admin_email']} / {DemoSettings().admin_password.get_secret_value()}"
        " (PORTAL_DEMO_ADMIN_PASSWORD)\n"
        f"  more users (same password): {', '.join(result['users'])}\n"
        f"  {result['users'][1] if len(result['users']) > 1 else 'the security user'} has 2FA on;"
        f" authenticator secret {result['two_factor_secret']}"
    )
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from urllib.parse import unquote, urlsplit

    from servicekit import deadletters
    from servicekit.settings import KitSettings

    amqp_uri = KitSettings().amqp_uri
    if args.action == "list":
        # A cluster's nodes share their vhosts: the first URI of a list names it.
        vhost = unquote(urlsplit(amqp_uri.split(";")[0]).path[1:]) or "/"
        for queue, depth in deadletters.dead_letter_queues(args.management_url, vhost):
            print(f"{depth:8d}  {queue}")
        return 0
    if not args.queue:
        print("name the handler's queue (see `portal dead-letters list`)", file=sys.stderr)
        return 2
    if args.action == "show":
        for letter in deadletters.show(amqp_uri, args.queue, args.limit):
            print(f"{letter.event_type}  {letter.event_id}  deliveries={letter.deliveries}  reason={letter.reason}")
        return 0
    try:
        replayed = deadletters.replay(amqp_uri, args.queue, args.limit)
    except ValueError as refusal:  # an RPC queue's dead letters: inspect only
        print(refusal, file=sys.stderr)
        return 2
    print(f"replayed {replayed} event(s) onto {args.queue}")
    return 0


def main(registry: Registry, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="portal")
    parser.set_defaults(registry=registry)
    sub = parser.add_subparsers(dest="command", required=True)
    migrate = sub.add_parser("migrate", help="apply migrations")
    migrate.add_argument("services", nargs="*", metavar="SERVICE", help=f"one of {', '.join(registry)}")
    migrate.set_defaults(func=cmd_migrate)
    revision = sub.add_parser("revision", help="autogenerate a migration")
    revision.add_argument("service", choices=list(registry))
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--rev-id", default=None)
    revision.set_defaults(func=cmd_revision)
    seed = sub.add_parser("seed", help="seed the demo data into a running suite (idempotent)")
    seed.set_defaults(func=cmd_seed)
    dead = sub.add_parser("dead-letters", help="inspect and replay events handlers gave up on")
    dead.add_argument("action", choices=["list", "show", "replay"])
    dead.add_argument("queue", nargs="?", help="the handler's queue, evt-<source>-<type>--<service>.<method>")
    dead.add_argument("--limit", type=int, default=100)
    dead.add_argument("--management-url", default="http://guest:guest@127.0.0.1:15672")
    dead.set_defaults(func=cmd_dead_letters)
    args = parser.parse_args(argv)
    return int(args.func(args))
