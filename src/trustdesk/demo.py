"""The demo data set that ``make run`` (``trustdesk serve --demo``) loads: development only.

Loading is idempotent: a second start finds the demo service and users and leaves them.
The credentials are well known on purpose; ``serve`` refuses ``--demo`` outside development.
"""

from __future__ import annotations

from dataclasses import dataclass

from trustdesk.auth import service as auth
from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType

DEMO_PASSWORD = "trustdesk-demo"  # noqa: S105  (published demo credential)


@dataclass(frozen=True, slots=True)
class DemoService:
    name: str
    types: tuple[ServiceType, ...]
    packs: tuple[str, ...]
    api_key: str


SERVICES = (
    DemoService(
        name="Demo Chat",
        types=(ServiceType.INSTANT_MESSAGING, ServiceType.ONLINE_CHAT),
        packs=("cn-xj-2014", "eu-dsa"),
        api_key="td_demo-chat-key-for-development-only",
    ),
    DemoService(
        name="Demo Cloud",
        types=(ServiceType.CLOUD_STORAGE, ServiceType.SOCIAL_NETWORK),
        packs=("eu-dsa",),
        api_key="td_demo-cloud-key-for-development-only",
    ),
)

USERS: tuple[tuple[str, str, Role, str], ...] = (
    ("admin", "Ada Admin", Role.ADMIN, "en"),
    ("mod.alice", "Alice (moderator)", Role.MODERATOR, "en"),
    ("mod.bo", "薄 (审核员)", Role.MODERATOR, "zh"),
    ("senior.chen", "陈 (高级审核员)", Role.SENIOR_MODERATOR, "zh"),
    ("compliance.dana", "Dana (compliance)", Role.COMPLIANCE_OFFICER, "en"),
    ("approver.eli", "Eli (disclosure approver)", Role.DISCLOSURE_APPROVER, "en"),
    ("approver.fang", "方 (披露审批人)", Role.DISCLOSURE_APPROVER, "zh"),
    ("auditor.gus", "Gus (auditor)", Role.AUDITOR, "en"),
)


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    services: tuple[DemoService, ...]
    usernames: tuple[str, ...]
    password: str


def load(database: Database, registry: PackRegistry) -> DemoCredentials:
    """Create the demo services and users unless they exist already."""
    with database.session() as session:
        for demo in SERVICES:
            if compliance.find_service_by_name(session, demo.name) is None:
                created = compliance.create_service(
                    session, registry, name=demo.name, types=demo.types, packs=demo.packs
                )
                auth.issue_api_key(session, created.service.id, demo.api_key)
        existing = {user.username for user in auth.list_users(session)}
        for username, display_name, role, language in USERS:
            if username not in existing:
                auth.create_user(
                    session,
                    username=username,
                    password=DEMO_PASSWORD,
                    roles=[role],
                    display_name=display_name,
                    language=language,
                )
    return DemoCredentials(
        services=SERVICES, usernames=tuple(u[0] for u in USERS), password=DEMO_PASSWORD
    )


def describe(credentials: DemoCredentials) -> str:
    """What to print for a person starting the demo."""
    lines = ["Demo data loaded (development only):"]
    for demo in credentials.services:
        lines.append(f"  service {demo.name!r}: API key {demo.api_key}")
    users = ", ".join(credentials.usernames)
    lines.append(f"  console users ({users}), password {credentials.password!r}")
    return "\n".join(lines)
