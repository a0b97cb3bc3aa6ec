"""The console's menu: groups of items, shown by the user's tier and permissions, with
exactly one item marked as the current page (the longest path that the address starts with)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contracts.vocabulary import Permission, TenantKind

if TYPE_CHECKING:
    from gateway.web.render import Console

# Partner Zone: documents and links for those who resell (not a customer account's users).
PARTNER_ZONE_TIERS = (TenantKind.OPERATOR, TenantKind.DISTRIBUTOR, TenantKind.PARTNER)
HOME_LABELS: dict[str, str] = {TenantKind.PARTNER: "Customer accounts", TenantKind.ACCOUNT: "Backups"}


@dataclass(frozen=True)
class Item:
    href: str
    text: str
    current: bool = False


@dataclass(frozen=True)
class Group:
    label: str | None  # None: items standing on their own
    items: tuple[Item, ...]


def _matches(path: str, href: str) -> bool:
    return path == href or (href != "/" and path.startswith(href.rstrip("/") + "/"))


def menu(console: Console, path: str) -> list[Group]:
    """The groups the user sees (a group without a visible item is left out)."""
    money, tier = console.sees_money, console.tier
    wanted: list[tuple[str | None, list[tuple[str, str, bool]]]] = [
        (None, [("/", HOME_LABELS.get(tier or "", "Dashboard"), console.can(Permission.VIEW_DASHBOARD))]),
        ("Billing", [("/billing", "Status", money), ("/billing/history", "History", money),
                     ("/billing/payment", "Payment details", money)]),
        (None, [("/audit", "Security audit", console.can(Permission.VIEW_SECURITY_AUDIT))]),
        ("Settings", [
            ("/settings/account", "Account", console.can_view_settings),
            ("/settings/users", "Users", console.is_admin),
            ("/settings/security", "Security", True),
            ("/notifications", "Notifications",
             tier != TenantKind.ACCOUNT and console.can(Permission.MANAGE_NOTIFICATIONS)),
            ("/integrations/backup-radar", "Integrations",
             tier == TenantKind.DISTRIBUTOR and console.can(Permission.MANAGE_NOTIFICATIONS)),
            ("/settings/site-content", "Site content", tier == TenantKind.OPERATOR),
        ]),
        (None, [("/learning", "Learning hub", True),
                ("/partner-zone", "Partner Zone", tier in PARTNER_ZONE_TIERS),
                ("/resources", "Resources", True),
                ("/support", "Support", console.can_open_support)]),
    ]
    shown = [(label, [(href, text) for href, text, visible in items if visible]) for label, items in wanted]
    hrefs = [href for _, items in shown for href, _ in items if _matches(path, href)]
    current = max(hrefs, key=len, default=None)
    return [Group(label, tuple(Item(href, text, href == current) for href, text in items))
            for label, items in shown if items]
