"""The demo data set that ``make run`` (``trustdesk serve --demo``) loads: development only.

Two services, one user per role, the example rule set deployed to Demo Chat and a handful
of messages screened through it (so some are held or blocked and wait for review).
Loading is idempotent: a second start finds everything and leaves it. The credentials are
well known on purpose; ``serve`` refuses ``--demo`` outside development.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from trustdesk.auth import service as auth
from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.screening import service as screening
from trustdesk.screening.runtime import archive_folder, build_screener
from trustdesk.screening.sources import load_ruleset

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


RULES = Path(__file__).parent / "screening" / "examples" / "demo"

# (content id, subject, text): gambling, a contact lure, fraud, weapons, a shadow rule,
# evasions (full-width, traditional, separators) and ordinary chat that is only counted.
MESSAGES: tuple[tuple[str, str, str], ...] = (
    ("msg-1001", "acct-17", "今晚网上赌场开业，百家乐代理日结，加微信 88886666"),
    ("msg-1002", "acct-17", "ＯＮＬＩＮＥ　ＣＡＳＩＮＯ bonus for new players"),
    ("msg-1003", "acct-23", "兼职刷单，日赚三百，先交押金"),
    ("msg-1004", "acct-23", "wire $2,500 to release your parcel from customs"),
    ("msg-1005", "acct-31", "出售仿真枪，私聊"),
    ("msg-1006", "acct-31", "稳赚不赔的投资机会"),
    ("msg-1007", "acct-40", "網上賭場 今日优惠"),
    ("msg-1008", "acct-40", "点击领取红包 free followers"),
    ("msg-1009", "acct-52", "明天下午三点开会，别迟到"),
    ("msg-1010", "acct-52", "Lunch at noon? The new noodle place is good."),
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
        _screen_demo_content(session, registry)
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


def _screen_demo_content(session: Session, registry: PackRegistry) -> None:
    chat = compliance.find_service_by_name(session, SERVICES[0].name)
    if chat is None or screening.active_version(session, chat.id) is not None:
        return
    source = load_ruleset(RULES, registry.all())
    screening.deploy(session, chat.id, source, archive_folder(RULES), by="demo")
    screener = build_screener(source, None)
    for content_id, subject, text in MESSAGES:
        item = screening.ContentIn.of(content_id, text, subject)
        screening.record(session, chat.id, item, screener.screen(item.text))


def describe(credentials: DemoCredentials) -> str:
    """What to print for a person starting the demo."""
    lines = ["Demo data loaded (development only):"]
    for demo in credentials.services:
        lines.append(f"  service {demo.name!r}: API key {demo.api_key}")
    users = ", ".join(credentials.usernames)
    lines.append(f"  console users ({users}), password {credentials.password!r}")
    return "\n".join(lines)
