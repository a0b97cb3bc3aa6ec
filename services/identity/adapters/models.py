"""The identity service's tables (its own database; nobody else reads it).

Secrets are never stored in clear: passwords as argon2id hashes, session, confirmation
and recovery tokens as SHA-256 hashes, TOTP secrets encrypted (services/identity/adapters/secrets_box.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contracts.vocabulary import TenantKind
from servicekit.request_keys import request_keys_table
from servicekit.types import UtcDateTime

TZ = UtcDateTime()


class Base(DeclarativeBase):
    metadata = sa.MetaData()


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    # Lower-cased copy: emails are unique case-insensitively across the portal.
    email_normalised: Mapped[str] = mapped_column(sa.String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    credential_type: Mapped[str] = mapped_column(sa.String(20), default="password")
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(TZ)
    role: Mapped[str] = mapped_column(sa.String(20))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    tenant_kind: Mapped[str] = mapped_column(sa.String(20), default=TenantKind.DISTRIBUTOR.value,
                                             server_default=TenantKind.DISTRIBUTOR.value)
    permissions: Mapped[list[str]] = mapped_column(sa.JSON(), default=list, server_default="[]")
    # None = every account of the tenant; otherwise the only accounts that exist for the user.
    accessible_accounts: Mapped[list[str] | None] = mapped_column(sa.JSON(), nullable=True)
    totp_secret_encrypted: Mapped[str | None] = mapped_column(sa.String(300))
    totp_pending_secret_encrypted: Mapped[str | None] = mapped_column(sa.String(300))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(TZ)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger())
    updated_at: Mapped[datetime | None] = mapped_column(TZ)
    # Microsoft/Google sign-in: the provider's subject ("sub"), linked at the first sign-in.
    sso_provider: Mapped[str | None] = mapped_column(sa.String(20))
    sso_subject: Mapped[str | None] = mapped_column(sa.String(255))

    __table_args__ = (sa.UniqueConstraint("sso_provider", "sso_subject", name="uq_users_sso_subject"),)


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    last_seen_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))


class EmailToken(Base):
    """Single-use confirmation link tokens (hash only)."""

    __tablename__ = "email_tokens"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class IpPolicy(Base):
    __tablename__ = "ip_policies"

    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    updated_at: Mapped[datetime | None] = mapped_column(TZ)


class IpEntryRow(Base):
    __tablename__ = "ip_entries"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), index=True)
    description: Mapped[str] = mapped_column(sa.String(200))
    addresses: Mapped[list[str]] = mapped_column(sa.JSON(), default=list)
    range_from: Mapped[str | None] = mapped_column(sa.String(64))
    range_to: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(TZ)


class PasswordPolicy(Base):
    __tablename__ = "password_policies"

    tenant_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    expiration_enabled: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    max_age_days: Mapped[int] = mapped_column(sa.Integer(), default=90)
    updated_at: Mapped[datetime | None] = mapped_column(TZ)


class SignInThrottle(Base):
    """Failed sign-ins per key ("email:<addr>" or "ip:<addr>") for the growing back-off."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(sa.Integer(), default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(TZ)


class SsoAttempt(Base):
    """A Microsoft or Google sign-in between the portal and the provider (single use).

    ``state`` and the browser key are stored as hashes, the PKCE verifier sealed
    (adapters/secrets_box.py); the nonce is no secret (it comes back inside the ID token).
    After the provider, a user with two-factor sign-in gets a ticket (hash only) for the code.
    """

    __tablename__ = "sso_attempts"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    state_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    browser_key_hash: Mapped[str] = mapped_column(sa.String(64))
    provider: Mapped[str] = mapped_column(sa.String(20))
    nonce: Mapped[str] = mapped_column(sa.String(100))
    code_verifier_sealed: Mapped[str] = mapped_column(sa.String(400))
    next_path: Mapped[str] = mapped_column(sa.String(2000), default="/")
    created_at: Mapped[datetime] = mapped_column(TZ, index=True)
    used_at: Mapped[datetime | None] = mapped_column(TZ)
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    ticket_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    ticket_expires_at: Mapped[datetime | None] = mapped_column(TZ)
    ticket_used_at: Mapped[datetime | None] = mapped_column(TZ)


metadata = Base.metadata


class EngineKey(Base):
    """API keys of the backup engine's ingest calls (hash only; shown once at creation)."""

    __tablename__ = "engine_keys"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(sa.String(200))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)


class Course(Base):
    """The learning hub's catalogue (seeded by migration 0004)."""

    __tablename__ = "learning_courses"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.String(1000))
    category: Mapped[str] = mapped_column(sa.String(100))
    duration_minutes: Mapped[int] = mapped_column(sa.Integer())
    position: Mapped[int] = mapped_column(sa.Integer(), default=0)


class CourseProgress(Base):
    """One user's progress in one course."""

    __tablename__ = "learning_progress"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("learning_courses.id", ondelete="CASCADE"),
                                                 primary_key=True)
    percent: Mapped[int] = mapped_column(sa.Integer())
    updated_at: Mapped[datetime] = mapped_column(TZ)
    completed_at: Mapped[datetime | None] = mapped_column(TZ)

# Idempotency-Key of create requests (servicekit.request_keys).
request_keys = request_keys_table(metadata)
