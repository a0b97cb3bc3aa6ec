"""The database URL a service is given: the usual libpq spellings, the psycopg 3 driver."""

from __future__ import annotations

import sqlalchemy as sa

from servicekit.settings import normalise_database_url


def connect_args(url: str) -> dict[str, object]:
    """What SQLAlchemy's psycopg dialect would hand to ``psycopg.connect`` for ``url``."""
    parsed = sa.make_url(normalise_database_url(url))
    _, kwargs = sa.create_engine(parsed).dialect.create_connect_args(parsed)
    return {key: value for key, value in kwargs.items() if key != "context"}


def test_a_single_host_url_uses_the_psycopg_driver():
    assert normalise_database_url("postgresql://app:pw@db:5432/tenancy") == "postgresql+psycopg://app:pw@db:5432/tenancy"
    assert normalise_database_url("postgres://app@db/tenancy") == "postgresql+psycopg://app@db/tenancy"


def test_a_multi_host_url_reaches_libpq_as_its_host_and_port_lists():
    args = connect_args("postgresql://app:pw@10.0.0.1:5433,10.0.0.2:5434/billing?target_session_attrs=read-write")
    assert args == {"dbname": "billing", "user": "app", "password": "pw", "host": "10.0.0.1,10.0.0.2",
                    "port": "5433,5434", "target_session_attrs": "read-write"}


def test_hosts_of_a_multi_host_url_without_a_port_take_the_default_one():
    args = connect_args("postgresql://app@db-a,db-b:6432/audit")
    assert (args["host"], args["port"]) == ("db-a,db-b", "5432,6432")


def test_sqlalchemys_own_multi_host_spelling_is_kept():
    url = "postgresql+psycopg://app@/identity?host=db-a:5432&host=db-b:5432&target_session_attrs=read-write"
    assert normalise_database_url(url) == url
    assert connect_args(url)["host"] == "db-a,db-b"


def test_sqlite_urls_are_left_alone():
    assert normalise_database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
