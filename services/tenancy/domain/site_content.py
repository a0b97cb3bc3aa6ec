"""The portal's published content before an operator first changes it, and what a change touched.

The defaults are the portal's own example values (reserved ``.example`` addresses and
fictional numbers): an operator replaces them with the vendor's real contacts and links
(Settings ▸ Site content, or ``PUT /api/v1/operator/site-content``).
"""

from __future__ import annotations

from contracts.site_content import PublishedLink, SiteContent, SupportEmail, SupportPhone

DEFAULT_SITE_CONTENT = SiteContent(
    support_phones=[
        SupportPhone(region="USA", phone="+1 (555) 010-0199"),
        SupportPhone(region="Australia", phone="+61 2 5550 1234"),
        SupportPhone(region="UK", phone="+44 20 7946 0958"),
    ],
    support_emails=[
        SupportEmail(purpose="General information", email="info@portal.example"),
        SupportEmail(purpose="Technical support", email="support@portal.example"),
        SupportEmail(purpose="Sales", email="sales@portal.example"),
    ],
    support_hours="Monday to Friday, 8:00 to 20:00 (US Eastern). Storage location changes, billing method "
                  "switches and Backup Radar activation are done by Support.",
    partner_zone=[
        PublishedLink(title="Partner programme guide", url="https://portal.example/partners/programme.pdf",
                      description="Tiers, margins and how to register a deal."),
        PublishedLink(title="Marketing kit", url="https://portal.example/partners/marketing-kit",
                      description="Logos, product sheets and email templates to resell the service."),
        PublishedLink(title="Price list", url="https://portal.example/partners/price-list.pdf",
                      description="Prices per seat and service, monthly and annual."),
    ],
    resources=[
        PublishedLink(title="About", url="https://portal.example/about",
                      description="Who runs the backup service, and how to reach the company."),
        PublishedLink(title="Knowledge Base", url="https://help.portal.example/",
                      description="How-to articles for the portal and the backup service."),
        PublishedLink(title="Security", url="https://portal.example/security",
                      description="How customer data is encrypted, stored and protected."),
        PublishedLink(title="Privacy", url="https://portal.example/privacy",
                      description="The privacy policy: what is collected, and why."),
    ],
)

SECTIONS = ("support_phones", "support_emails", "support_hours", "partner_zone", "resources")


def changed_sections(before: SiteContent, after: SiteContent) -> list[str]:
    """The sections whose content differs (the event names them; the audit says which)."""
    old, new = before.to_wire(), after.to_wire()
    return [name for name in SECTIONS if old.get(name) != new.get(name)]
