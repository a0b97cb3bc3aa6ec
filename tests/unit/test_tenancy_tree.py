import uuid

from contracts.vocabulary import TenantKind
from services.tenancy.domain.tree import (
    CODE_ALPHABET,
    child_path,
    is_within,
    may_have_parent,
    new_partner_code,
    root_path,
)


def test_partner_sits_under_a_distributor_only():
    assert may_have_parent(TenantKind.PARTNER, TenantKind.DISTRIBUTOR)
    assert not may_have_parent(TenantKind.PARTNER, TenantKind.PARTNER)
    assert not may_have_parent(TenantKind.PARTNER, TenantKind.OPERATOR)


def test_sub_distributors_are_allowed():
    assert may_have_parent(TenantKind.DISTRIBUTOR, TenantKind.DISTRIBUTOR)


def test_accounts_sit_under_a_partner_or_directly_under_a_distributor():
    assert may_have_parent(TenantKind.ACCOUNT, TenantKind.PARTNER)
    assert may_have_parent(TenantKind.ACCOUNT, TenantKind.DISTRIBUTOR)
    assert not may_have_parent(TenantKind.ACCOUNT, TenantKind.ACCOUNT)


def test_only_the_operator_is_a_root():
    assert may_have_parent(TenantKind.OPERATOR, None)
    assert not may_have_parent(TenantKind.DISTRIBUTOR, None)


def test_a_subtree_is_a_path_prefix_at_any_depth():
    root, distributor, partner, account = (uuid.uuid4() for _ in range(4))
    d = child_path(root_path(root), distributor)
    p = child_path(d, partner)
    a = child_path(p, account)

    assert is_within(a, d) and is_within(a, p) and is_within(p, p)
    sibling = child_path(root_path(root), uuid.uuid4())
    assert not is_within(a, sibling)


def test_partner_codes_are_readable_and_unambiguous():
    code = new_partner_code()

    assert code.startswith("P-") and len(code) == 8
    assert set(code[2:]) <= set(CODE_ALPHABET)
    assert not set("01IO") & set(code[2:])
