"""The demo seed: a tree in every state, with run history, made once however often it runs."""

from __future__ import annotations

import sqlalchemy as sa

from contracts.tenancy import AccountListQuery, PartnerListQuery
from servicekit.context import SYSTEM_CALLER
from services.tenancy.adapters.models import BackupRun
from services.tenancy.usecases import accounts, partner_list
from services.tenancy.usecases.demo import seed_demo_tree
from tests.usecases.tenancy_world import NOW


def runs(db) -> int:
    with db.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(BackupRun)).scalar_one()


def test_the_demo_seed_shows_every_account_state_with_history_and_runs_once(tenancy_db):
    first = seed_demo_tree(tenancy_db.unit_of_work(SYSTEM_CALLER), now=NOW)
    recorded = runs(tenancy_db)
    second = seed_demo_tree(tenancy_db.unit_of_work(SYSTEM_CALLER), now=NOW)

    assert (first.created, second.created) == (True, False)
    assert (second.partners, second.accounts) == (first.partners, first.accounts) == (3, 11)
    assert runs(tenancy_db) == recorded > 50
    uow = tenancy_db.unit_of_work(SYSTEM_CALLER)
    page = partner_list.list_partners(uow, uow.context, PartnerListQuery(distributor_id=first.distributor_id))
    assert {row.task_status for row in page.items} == {"successful", "failures"}
    assert all(row.size_bytes > 0 for row in page.items) and page.direct.size_bytes > 0
    statuses, backups = set(), set()
    for owner in [*page.items, page.direct]:
        query = AccountListQuery(distributor_id=owner.id) if owner is page.direct else AccountListQuery(
            partner_id=owner.id)
        uow = tenancy_db.unit_of_work(SYSTEM_CALLER)
        rows = accounts.list_accounts(uow, uow.context, query, now=NOW).items
        statuses |= {row.account_status for row in rows}
        backups |= {row.backup_status for row in rows}
    assert statuses == {"trial_started", "trial_expiring", "trial_expired", "monthly_subscribed", "annual_subscribed"}
    assert backups == {"no_backup", "successful", "partially_failed", "failed"}
