"""The demo data set that ``make run`` (``trustdesk serve --demo``) loads: development only.

Two services, one user per role, the example rule set deployed to Demo Chat, verified
identities for most of Demo Chat's accounts (synthetic numbers), a handful of messages
screened through the rule set (held ones wait for review, blocked ones are decided at once)
and a few notices, one from a trusted flagger.
Loading is idempotent: a second start finds everything and leaves it. The credentials are
well known on purpose; ``serve`` refuses ``--demo`` outside development.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from trustdesk.auth import service as auth
from trustdesk.callers import UserCaller
from trustdesk.cases import appeals, claims, decisions, notices
from trustdesk.cases import screened as cases_screened
from trustdesk.cases import service as cases
from trustdesk.compliance import crypto, filings, inventory
from trustdesk.compliance import service as compliance
from trustdesk.compliance.crypto_entry import CryptoAssetIn
from trustdesk.compliance.servers import ServerIn
from trustdesk.compliance.vocabulary import (
    CryptoAssetType,
    CryptoFunction,
    KeyState,
    KeyType,
    Mode,
    Primitive,
    ProtocolType,
)
from trustdesk.db.engine import Database
from trustdesk.identity import disclosure
from trustdesk.identity import service as identity
from trustdesk.identity.documents import cn_ric
from trustdesk.identity.vault import Vault
from trustdesk.identity.vocabulary import IdentityKind
from trustdesk.permissions import Role, permissions_for
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ActionKind, FilingKind, ServiceType
from trustdesk.screening import outbox
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


def load(database: Database, registry: PackRegistry, vault: Vault) -> DemoCredentials:
    """Create the demo services and users unless they exist already."""
    with database.session() as session:
        for demo in SERVICES:
            if compliance.find_service_by_name(session, demo.name) is None:
                created = compliance.create_service(
                    session, registry, name=demo.name, types=demo.types, packs=demo.packs
                )
                auth.issue_api_key(session, created.service.id, demo.api_key)
        _register_identities(session, registry, vault)
        _screen_demo_content(session, registry)
        _send_notices(session, registry)
        _register_compliance(session, registry)
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
        _confirm_approvers(session)
        _review_and_disclose(session, registry)
    return DemoCredentials(
        services=SERVICES, usernames=tuple(u[0] for u in USERS), password=DEMO_PASSWORD
    )


def _screen_demo_content(session: Session, registry: PackRegistry) -> None:
    chat = compliance.find_service_by_name(session, SERVICES[0].name)
    if chat is None or screening.active_version(session, chat.id) is not None:
        return
    source = load_ruleset(RULES, registry.all())
    packs = compliance.packs_for(session, registry, chat.id)
    screening.deploy(session, chat.id, source, archive_folder(RULES), packs=packs, by="demo")
    screener = build_screener(source, None)
    for content_id, subject, text in MESSAGES:
        item = screening.ContentIn.of(content_id, text, subject)
        screening.record(session, chat.id, item, screener.screen(item.text))
    outbox.drain_all(session, lambda s, screened: cases_screened.on_screened(s, packs, screened))


# (subject, name, region, birth date, sequence): made-up people with made-up numbers whose
# check characters are computed here; acct-66 registers nothing, so the gate blocks it.
IDENTITIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("acct-17", "演示 用户甲", "650102", "19900101", "001"),
    ("acct-23", "演示 用户乙", "650102", "19850315", "002"),
    ("acct-31", "Demo Person C", "110101", "19921120", "003"),
    ("acct-40", "Demo Person D", "310104", "19780704", "004"),
    ("acct-52", "演示 用户戊", "650104", "20000229", "005"),
)
UNVERIFIED_SUBJECT = "acct-66"


def demo_number(region: str, birth: str, sequence: str) -> str:
    """A synthetic resident identity number (valid check character, nobody's number)."""
    body = region + birth + sequence
    return body + cn_ric.calc_check_digit(body)


def _register_identities(session: Session, registry: PackRegistry, vault: Vault) -> None:
    chat = compliance.find_service_by_name(session, SERVICES[0].name)
    if chat is None:
        return
    packs = compliance.packs_for(session, registry, chat.id)
    for subject, name, region, birth, sequence in IDENTITIES:
        attempt = identity.Registration(
            subject,
            IdentityKind.INDIVIDUAL,
            name,
            "cn.ric",
            demo_number(region, birth, sequence),
        )
        identity.register(session, vault, packs, chat.id, attempt)


# (content id or URL, category, explanation, from the trusted flagger)
NOTICES: tuple[tuple[str, str, str, bool], ...] = (
    ("msg-1006", "art6.10", "Promises guaranteed returns: an investment scam.", False),
    ("msg-1003", "art6.10", "Asks for a deposit before paid 'part-time' work.", True),
    (
        "https://chat.example/share/abc",
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "A shared link to a fake parcel-customs payment page.",
        False,
    ),
)


def _send_notices(session: Session, registry: PackRegistry) -> None:
    chat = compliance.find_service_by_name(session, SERVICES[0].name)
    if chat is None or notices.has_notices(session, chat.id):
        return
    packs = compliance.packs_for(session, registry, chat.id)
    flagger_id, _key = notices.register_flagger(session, chat.id, "Demo Anti-Fraud Centre")
    flagger = notices.get_flagger(session, flagger_id)
    for target, category, explanation, trusted in NOTICES:
        is_url = target.startswith("https://")
        notices.submit(
            session,
            packs,
            notices.NoticeIn(
                service_id=chat.id,
                category=category,
                explanation=explanation,
                good_faith=True,
                content_id=None if is_url else target,
                url=target if is_url else None,
                notifier_name=None if trusted else "A. Reader",
                notifier_email=None if trusted else "reader@example.org",
            ),
            flagger=flagger if trusted else None,
        )


# Demo Chat's register: its permit, servers (the Frankfurt backup serves users in Xinjiang,
# so the residency check opens a finding), and the cryptography in use (facilities only).
DEMO_PERMIT_PDF = b"%PDF-1.4\n% demo permit scan (not a real document)\n%%EOF\n"
DEMO_SERVERS = (
    ServerIn(
        "urumqi-app-1",
        "server",
        "web and API",
        "Xinjiang Cloud",
        "CN-XJ",
        "650102",
        ("content", "logs"),
        ("CN-XJ",),
    ),
    ServerIn(
        "urumqi-db-1",
        "data_store",
        "primary database",
        "Xinjiang Cloud",
        "CN-XJ",
        "650104",
        ("content", "evidence", "identity"),
        ("CN-XJ", "CN"),
    ),
    ServerIn(
        "frankfurt-backup",
        "data_store",
        "off-site backup",
        "EuroHost GmbH",
        "DE-HE",
        None,
        ("evidence", "logs"),
        ("CN-XJ", "DE"),
    ),
)


def _register_compliance(session: Session, registry: PackRegistry) -> None:
    chat = compliance.find_service_by_name(session, SERVICES[0].name)
    if chat is None or filings.list_filings(session, chat.id):
        return
    permit = filings.record_filing(
        session,
        chat.id,
        kind=FilingKind.PERMIT,
        number="新B2-20240001",
        authority="新疆维吾尔自治区通信管理局",
        issued_on=dt.date(2024, 3, 1),
        expires_on=dt.date(2029, 3, 1),
        by="demo",
    )
    filings.attach_document(
        session,
        chat.id,
        permit.id,
        filename="permit-B2-20240001.pdf",
        content=DEMO_PERMIT_PDF,
        by="demo",
    )
    filings.record_filing(
        session,
        chat.id,
        kind=FilingKind.FILING,
        number="新ICP备24000001号-1",
        authority="中华人民共和国工业和信息化部",
        issued_on=dt.date(2024, 2, 20),
        expires_on=None,
        by="demo",
    )
    servers = [
        inventory.record_server(session, registry, chat.id, s, by="demo").server.id
        for s in DEMO_SERVERS
    ]
    algorithm = CryptoAssetType.ALGORITHM
    made = {}
    for name, primitive, mode, functions in (
        ("SM4", Primitive.BLOCK_CIPHER, Mode.GCM, (CryptoFunction.ENCRYPT, CryptoFunction.DECRYPT)),
        ("SM2", Primitive.SIGNATURE, None, (CryptoFunction.SIGN, CryptoFunction.VERIFY)),
        ("SM3", Primitive.HASH, None, (CryptoFunction.DIGEST,)),
    ):
        entry = CryptoAssetIn(
            algorithm,
            name,
            servers=tuple(servers[:2]),
            primitive=primitive,
            mode=mode,
            functions=functions,
        )
        made[name] = crypto.record_asset(session, chat.id, entry, by="demo").id
    for entry in (
        CryptoAssetIn(
            CryptoAssetType.PROTOCOL,
            "TLS 1.3 (GM suites)",
            servers=(servers[0],),
            protocol=ProtocolType.TLS,
            version="1.3",
            cipher_suites=("TLS_SM4_GCM_SM3",),
        ),
        CryptoAssetIn(
            CryptoAssetType.CERTIFICATE,
            "chat.demo.example.cn",
            servers=(servers[0],),
            subject_name="CN=chat.demo.example.cn, O=Demo Chat, C=CN",
            issuer_name="CN=Demo SM2 CA, C=CN",
            certificate_format="X.509",
            not_valid_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            not_valid_after=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
            algorithm_id=made["SM2"],
        ),
        CryptoAssetIn(
            CryptoAssetType.KEY,
            "database encryption key",
            servers=(servers[1],),
            key_type=KeyType.SECRET_KEY,
            key_size=128,
            key_state=KeyState.ACTIVE,
            secured_by="HSM (GM/T 0028 level 2)",
            created_on=dt.date(2026, 1, 1),
            algorithm_id=made["SM4"],
        ),
    ):
        crypto.record_asset(session, chat.id, entry, by="demo")


def _acting(session: Session, username: str) -> UserCaller:
    user = next(u for u in auth.list_users(session) if u.username == username)
    return UserCaller(user.id, user.username, permissions_for(user.roles))


def _confirm_approvers(session: Session) -> None:
    """The approver grants (made here as by the command line) confirmed by the demo's
    administrator, who controls neither approver: so both votes count."""
    admin = _acting(session, "admin")
    demo_users = {username for username, *_ in USERS}
    for grant in auth.pending_grants(session):
        if grant.username in demo_users:
            auth.confirm_role(session, admin, grant.user_id, grant.role)


def _review_and_disclose(session: Session, registry: PackRegistry) -> None:
    """A moderator's decision under appeal, and a disclosure request waiting for approvers,
    so the appeals and disclosure pages have something to show."""
    chat = compliance.find_service_by_name(session, SERVICES[0].name)
    if chat is None or disclosure.list_requests(session, limit=1):
        return
    packs = compliance.packs_for(session, registry, chat.id)
    moderator = _acting(session, "mod.alice")
    queued = cases.queue(session, cases.QueueFilter(service_id=chat.id))
    held = next((q for q in queued if q.items), None)
    if held is not None:
        claims.claim(session, held.case_id, moderator.user_id)
        outcome = decisions.decide(
            session,
            lambda *_: packs,  # the queue is chat's alone
            held.case_id,
            moderator,
            decisions.DecisionIn(
                category="art6.10",
                actions=(ActionKind.DELETE,),
                facts="Recruits 'part-time' workers who must pay a deposit first: a fraud lure.",
            ),
        )
        appeals.file_appeal(
            session,
            packs,
            outcome.decision.id,
            by="subject",
            reason="I run a real recruitment agency; the deposit is refundable.",
        )
    disclosure.request(
        session,
        _acting(session, "compliance.dana"),
        disclosure.NewDisclosure(
            chat.id,
            "Example City Public Security Bureau",
            "Criminal Procedure Law art. 54 (demonstration)",
            "DEMO-2026-001",
            (IDENTITIES[1][0],),
        ),
        packs=packs,
        max_subjects=10,
    )


def describe(credentials: DemoCredentials) -> str:
    """What to print for a person starting the demo."""
    lines = ["Demo data loaded (development only):"]
    for demo in credentials.services:
        lines.append(f"  service {demo.name!r}: API key {demo.api_key}")
    users = ", ".join(credentials.usernames)
    lines.append(f"  console users ({users}), password {credentials.password!r}")
    return "\n".join(lines)
