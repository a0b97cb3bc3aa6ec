"""learning hub: course catalogue (seeded) and per-user progress

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 14:20:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Fixed ids: the same course has the same id in every installation (links stay valid).
COURSES = [
    ("portal-basics", "Getting started with the portal", "Sign in, find your way around the dashboard, drill into partners and accounts.", "Basics", 20),
    ("partners-and-trials", "Partners, accounts and trials", "Add partners and customer accounts, choose default subscriptions, subscribe trials before they expire.", "Sales", 35),
    ("billing-essentials", "Billing essentials", "Credit card or invoice, consolidated bills, annual subscriptions, history and forecasts.", "Billing", 30),
    ("security-hardening", "Securing your team", "Two-factor authentication, IP restrictions, custom roles and the security audit.", "Security", 25),
    ("backup-health", "Reading backup health", "Task statuses, partial failures, notifications and the Backup Radar integration.", "Operations", 40),
    ("restore-drills", "Running restore drills", "Plan and document restores for Microsoft 365, Google Workspace and Salesforce customers.", "Operations", 45),
]


def upgrade() -> None:
    courses = op.create_table('learning_courses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=1000), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('learning_progress',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('course_id', sa.Uuid(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['learning_courses.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'course_id')
    )
    op.bulk_insert(courses, [
        {"id": uuid.uuid5(uuid.NAMESPACE_URL, f"portal:learning:{slug}"), "slug": slug, "title": title,
         "summary": summary, "category": category, "duration_minutes": minutes, "position": position}
        for position, (slug, title, summary, category, minutes) in enumerate(COURSES)
    ])


def downgrade() -> None:
    op.drop_table('learning_progress')
    op.drop_table('learning_courses')
