"""The rule-set page through HTTP: check and deploy an upload, switch back to an earlier
version, download a version, the shadow rules' figures; every hostile or malformed upload,
CSRF, and a moderator who may check but not deploy."""

from __future__ import annotations

import html
import io
import json
import re
import stat
import uuid
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from console_support import TRACEBACK, Visitor
from sqlalchemy import update

from trustdesk.auth import service as auth
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.policy.service import PackRegistry
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.screening import service as screening
from trustdesk.screening.models import ContentItem
from trustdesk.screening.runtime import archive_folder, source_from_archive
from trustdesk.screening.sources import load_ruleset
from trustdesk.settings import Settings

from desk import RULES, Desk
from support import HOSTILE_STRINGS, ServiceFactory

PAGE = "/console/admin/rulesets"
DEMO = Path(screening.__file__).parent / "examples" / "demo"
LIMIT = 2 * 1024 * 1024  # the upload limit of these tests (over the 1 MiB of other requests)
MEMBERS = Settings.model_fields["ruleset_max_members"].default  # entries in a zip, at most
RATIO = Settings.model_fields["ruleset_max_compression_ratio"].default
TERMS = 100  # the terms quota of these tests
TRIAL = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [赌场, casino, 百家乐]
  - id: fraud-bait
    category: art6.10
    action: hold
    terms: [稳赚不赔, guaranteed returns]
  - id: money-trial
    category: art6.10
    action: block
    mode: shadow
    terms: [free money]
    patterns: ['free\\s+cash\\s+\\d+']
"""
BROKEN = """\
rules:
  - id: bad-action
    category: art6.8
    action: explode
    terms: [x]
  - id: bad-category
    category: nope.nothing
    action: block
    terms: [y]
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_ruleset_bytes": LIMIT, "ruleset_max_terms": TERMS})


@pytest.fixture
def admin(database: Database) -> str:
    with database.session() as session:
        auth.create_user(session, username="admin.one", password="x" * 16, roles=[Role.ADMIN])
    return "admin.one"


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def multipart(fields: dict[str, str], name: str | None, content: bytes) -> tuple[bytes, str]:
    """A form as a browser sends it (text as UTF-8, even what UTF-8 cannot hold), with the
    file part last; ``name`` None leaves the file part out. Returns the body and its type."""
    boundary = "----trustdesk-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
        + value.encode("utf-8", "surrogatepass")
        + b"\r\n"
        for key, value in fields.items()
    ]
    if name is not None:
        quoted = name.encode("utf-8", "surrogatepass")
        for raw, escaped in ((b'"', b"%22"), (b"\r", b"%0D"), (b"\n", b"%0A")):
            quoted = quoted.replace(raw, escaped)
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
            + quoted
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def send(
    visitor: Visitor,
    view: str,
    service: str,
    name: str | None,
    data: bytes | str,
    *,
    csrf: bool = True,
) -> Any:
    """Post the upload form to ``view`` (check or deploy) as a browser does: the CSRF token
    in the form's address (checked before the body is read) and in the form."""
    token = visitor.token(PAGE)
    fields = {"csrf_token": token} if csrf else {}
    fields["service"] = service
    content = data.encode() if isinstance(data, str) else data
    body, kind = multipart(fields, name, content)
    return visitor.client.post(
        f"{PAGE}/{view}",
        params={"csrf_token": token} if csrf else None,
        content=body,
        headers={"content-type": kind},
        follow_redirects=False,
    )


def versions(visitor: Visitor, service_id: str) -> list[str]:
    """The deployments listed on the page, newest (active) first."""
    shown = visitor.get(f"{PAGE}?service={service_id}")
    assert shown.status_code == 200, shown.text
    table = shown.text.split('id="deployments"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td data-label="Version"><code>([0-9a-f]{64})</code>', table)


def text_of(answer: Any) -> str:
    """The page's text with tags dropped and entities decoded (for reading messages)."""
    return html.unescape(re.sub(r"<[^>]+>", "", answer.text))


def test_check_shows_the_summary_and_changes_nothing(
    visitor: Visitor, desk: Desk, admin: str
) -> None:
    visitor.sign_in(admin)
    before = versions(visitor, desk.service_id)
    answer = send(visitor, "check", desk.service_id, "trial.yaml", TRIAL)
    assert answer.status_code == 200, answer.text
    assert re.search(r'id="checked-rules">3<', answer.text)
    assert re.search(r'id="checked-terms">6<', answer.text)
    assert re.search(r'id="checked-patterns">1<', answer.text)
    assert re.search(r'id="checked-files">1: <code>trial.yaml</code><', answer.text)
    assert re.search(r'id="checked-shadow"><code>money-trial</code></dd>', answer.text)
    assert "<code>trial.yaml:10:5</code>" in answer.text  # where money-trial is written
    version = re.search(r'id="checked-version">([0-9a-f]{64})<', answer.text)
    assert version
    assert versions(visitor, desk.service_id) == before  # checking deploys nothing

    deployed = send(visitor, "deploy", desk.service_id, "trial.yaml", TRIAL)
    assert deployed.status_code == 303
    assert versions(visitor, desk.service_id)[0] == version.group(1)  # the version the check showed


def test_a_zipped_folder_gets_the_same_version_as_the_cli_check(
    visitor: Visitor, desk: Desk, packs: PackRegistry
) -> None:
    visitor.sign_in("mod.one")
    answer = send(visitor, "check", desk.service_id, "demo.zip", archive_folder(DEMO))
    assert answer.status_code == 200, answer.text
    from_folder = load_ruleset(
        DEMO, packs.all()
    )  # what `trustdesk rules check` reports for the folder
    assert f'id="checked-version">{from_folder.version}<' in answer.text
    assert re.search(rf'id="checked-rules">{len(from_folder.rules)}<', answer.text)
    assert re.search(rf'id="checked-files">{len(from_folder.files)}: ', answer.text)
    assert "<code>lists/fraud.txt</code>" in answer.text
    assert re.search(r'id="checked-shadow"><code>gambling-odds-trial</code></dd>', answer.text)
    assert "<code>demo.zip/gambling.yaml:14:5</code>" in answer.text


def test_check_lists_every_problem_at_file_line_and_column(
    visitor: Visitor, desk: Desk, admin: str
) -> None:
    visitor.sign_in(admin)
    for view in ("check", "deploy"):
        answer = send(visitor, view, desk.service_id, "broken.yaml", BROKEN)
        assert answer.status_code == 422, answer.text
        assert "The rule set has problems; nothing was deployed." in answer.text
        listed = re.findall(
            r"<li><code>([^<]+)</code>", answer.text.split('id="check-problems"')[1]
        )
        assert listed == ["broken.yaml:4:13", "broken.yaml:7:15"]
        shown = text_of(answer)
        assert "rules.0.action: Input should be 'block', 'hold' or 'flag'" in shown
        assert "'nope.nothing' is neither a category of a loaded policy pack" in shown
        assert 'id="upload-form"' in answer.text  # the form is still there
        assert "Last file sent: broken.yaml" in answer.text
        assert not TRACEBACK.search(answer.text)
    duplicate = RULES + RULES.split("rules:\n", 1)[1]
    answer = send(visitor, "check", desk.service_id, "twice.yaml", duplicate)
    assert "<code>twice.yaml:10:9</code>" in answer.text
    assert "the rule id &#39;gambling-ads&#39; is already used at twice.yaml:2:5" in answer.text
    assert len(versions(visitor, desk.service_id)) == 1  # nothing was deployed


def deployed_entries(database: Database, desk: Desk) -> list[dict[str, Any]]:
    """The record log's rule-set deployments of the desk's service, oldest first."""
    service_id = uuid.UUID(desk.service_id)
    with database.session() as session:
        found = records.entries(session, 0, records.size(session), service_id=service_id)
    leaves = [json.loads(entry.leaf) for entry in found]
    return [leaf["data"] for leaf in leaves if leaf["type"] == EventType.SCREENING_RULESET_DEPLOYED]


def test_deploy_makes_the_upload_the_active_rule_set_and_screening_uses_it(
    visitor: Visitor, desk: Desk, admin: str, database: Database
) -> None:
    assert desk.screen("m-before", "百家乐")["verdict"] == "allow"
    visitor.sign_in(admin)
    (first,) = versions(visitor, desk.service_id)
    answer = send(visitor, "deploy", desk.service_id, "trial.yaml", TRIAL)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{PAGE}?service={desk.service_id}"
    shown = visitor.get(answer.headers["location"])
    assert "The rule set is deployed and active." in shown.text
    second, again = versions(visitor, desk.service_id)
    assert again == first and second != first
    assert "console:admin.one" in shown.text
    screened = desk.screen("m-after", "百家乐")  # at once: the active version is not cached
    assert screened["verdict"] == "block"
    assert screened["ruleset"] == second
    with database.session() as session:
        (latest,) = screening.deployments(session, uuid.UUID(desk.service_id), limit=1)
    assert (latest.version, latest.deployed_by) == (second, "console:admin.one")
    logged = deployed_entries(database, desk)
    assert [(d["version"], d["sequence"]) for d in logged] == [(first, 1), (second, 2)]


def test_an_earlier_version_can_be_made_active_again(
    visitor: Visitor, desk: Desk, admin: str, database: Database
) -> None:
    visitor.sign_in(admin)
    (first,) = versions(visitor, desk.service_id)
    assert send(visitor, "deploy", desk.service_id, "trial.yaml", TRIAL).status_code == 303
    second = versions(visitor, desk.service_id)[0]
    assert desk.screen("m-1", "百家乐")["verdict"] == "block"
    page = visitor.get(f"{PAGE}?service={desk.service_id}").text
    assert page.count("Make this version active again") == 1  # not next to the active one
    switch = f"{PAGE}/{first}/activate"
    assert f'action="{switch}"' in page
    answer = visitor.post(switch, {"service": desk.service_id}, form_page=PAGE)
    assert answer.status_code == 303, answer.text
    assert "The chosen rule set is active again." in visitor.get(answer.headers["location"]).text
    assert versions(visitor, desk.service_id) == [first, second, first]
    screened = desk.screen("m-2", "百家乐")
    assert (screened["verdict"], screened["ruleset"]) == ("allow", first)
    assert [d["version"] for d in deployed_entries(database, desk)] == [first, second, first]

    for version in ("0" * 64, "not-a-version", "%2E%2E", "%E2%82%AC"):
        missing = visitor.post(
            f"{PAGE}/{version}/activate", {"service": desk.service_id}, form_page=PAGE
        )
        assert missing.status_code == 404, version
        assert "There is nothing here, or it is not yours to see." in missing.text
        assert "<code>ruleset_not_found</code>" in missing.text
        assert not TRACEBACK.search(missing.text)
    too_long = visitor.post(f"{PAGE}/{'a' * 65}/activate", {"service": desk.service_id})
    assert too_long.status_code == 422
    assert "The form was not filled in correctly." in too_long.text
    assert versions(visitor, desk.service_id) == [first, second, first]


def test_a_version_of_another_service_cannot_be_switched_to_or_downloaded(
    visitor: Visitor, desk: Desk, admin: str, make_service: ServiceFactory
) -> None:
    other = make_service("Other")
    visitor.sign_in(admin)
    assert send(visitor, "deploy", str(other.service.id), "trial.yaml", TRIAL).status_code == 303
    theirs = versions(visitor, str(other.service.id))[0]
    switch = visitor.post(f"{PAGE}/{theirs}/activate", {"service": desk.service_id}, form_page=PAGE)
    assert switch.status_code == 404
    assert "ruleset_not_found" in switch.text
    download = visitor.get(f"{PAGE}/{theirs}/archive?service={desk.service_id}")
    assert download.status_code == 404
    assert "text/html" in download.headers["content-type"]
    for service in HOSTILE_STRINGS:
        fields = {"csrf_token": visitor.token(PAGE), "service": service}
        answer = visitor.client.post(
            f"{PAGE}/{theirs}/activate",
            content=urlencode(fields, errors="surrogatepass"),
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert answer.status_code in {400, 404, 422}, repr(service)
        assert "text/html" in answer.headers["content-type"]
        assert not TRACEBACK.search(answer.text)
        hostile_query = urlencode({"service": service[:1000]}, errors="surrogatepass")
        download = visitor.get(f"{PAGE}/{theirs}/archive?{hostile_query}")
        assert download.status_code in {400, 404, 422}, repr(service)
        assert "text/html" in download.headers["content-type"]


def test_a_version_downloads_as_the_zip_that_was_deployed(
    visitor: Visitor, desk: Desk, admin: str
) -> None:
    visitor.sign_in(admin)
    uploaded = archive_folder(DEMO)
    assert send(visitor, "deploy", desk.service_id, "demo.zip", uploaded).status_code == 303
    version = versions(visitor, desk.service_id)[0]
    page = visitor.get(f"{PAGE}?service={desk.service_id}").text
    link = f"{PAGE}/{version}/archive?service={desk.service_id}"
    assert f'href="{link}"' in page
    answer = visitor.get(link)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="ruleset-{version[:16]}.zip"; '
        f"filename*=UTF-8''ruleset-{version[:16]}.zip"
    )
    assert answer.content == uploaded
    single = visitor.get(
        f"{PAGE}/{versions(visitor, desk.service_id)[1]}/archive?service={desk.service_id}"
    )
    with zipfile.ZipFile(io.BytesIO(single.content)) as archive:
        assert archive.namelist() == ["r.yaml"]  # a single rule file, as the API stored it
        assert archive.read("r.yaml").decode() == RULES


def test_a_moderator_may_check_but_neither_deploy_nor_switch(visitor: Visitor, desk: Desk) -> None:
    visitor.sign_in("mod.one")
    page = visitor.get(f"{PAGE}?service={desk.service_id}")
    assert page.status_code == 200
    assert 'id="check-button"' in page.text
    assert 'id="deploy-button"' not in page.text
    assert "Your role may check rule sets but not deploy them." in page.text
    assert "or a zip of a rule folder, at most 2 MiB." in page.text
    checked = send(visitor, "check", desk.service_id, "trial.yaml", TRIAL)
    assert checked.status_code == 200
    assert 'id="checked-version"' in checked.text
    (only,) = versions(visitor, desk.service_id)
    denied = send(visitor, "deploy", desk.service_id, "trial.yaml", TRIAL)
    assert denied.status_code == 403
    assert "Your role does not allow this page or action." in denied.text
    switch = visitor.post(f"{PAGE}/{only}/activate", {"service": desk.service_id}, form_page=PAGE)
    assert switch.status_code == 403
    assert versions(visitor, desk.service_id) == [only]
    download = visitor.get(f"{PAGE}/{only}/archive?service={desk.service_id}")
    assert download.status_code == 200


def test_forms_without_the_session_token_are_refused(
    visitor: Visitor, desk: Desk, admin: str
) -> None:
    visitor.sign_in(admin)
    (only,) = versions(visitor, desk.service_id)
    for view in ("check", "deploy"):
        answer = send(visitor, view, desk.service_id, "trial.yaml", TRIAL, csrf=False)
        assert answer.status_code == 403, view
        assert "This form has expired" in answer.text
    forged = visitor.client.post(
        f"{PAGE}/{only}/activate",
        data={"service": desk.service_id, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "csrf_failed" in forged.text
    assert versions(visitor, desk.service_id) == [only]


def lying_zip() -> bytes:
    """A small zip whose directory claims an entry unpacks to a terabyte."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rules.yaml", RULES)
        archive.filelist[0].file_size = 2**40
    return buffer.getvalue()


def deflate_bomb() -> bytes:
    """A rule file of 20 MiB of spaces: about 20 kB zipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("rules.yaml", b"rules:\n" + b" " * (20 * 1024 * 1024))
    return buffer.getvalue()


def with_link() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("rules.yaml")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def many_entries() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("rules.yaml", RULES)
        for n in range(MEMBERS):
            archive.writestr(f"e/{n}", b"")
    return buffer.getvalue()


# (file name, content (or what makes it), what the page says, a file:line:col it shows)
HOSTILE_UPLOADS: list[tuple[str, bytes | Callable[[], bytes], str, str | None]] = [
    ("rules.yaml", b"", "The file is empty.", None),
    ("rules.yaml", b"x" * (LIMIT + 1), "The file is too large.", None),
    ("rules.txt", RULES.encode(), "Only a rule file (.yaml, .yml) or a zip", None),
    ("rules.exe", b"MZ", "Only a rule file (.yaml, .yml) or a zip", None),
    ("\u202etxt.exe", RULES.encode(), "Only a rule file (.yaml, .yml) or a zip", None),
    ("../../../../etc/passwd", b"root:x:0:0", "Only a rule file (.yaml, .yml) or a zip", None),
    ("rules.yaml", b"rules:\n  - id: caf\xe9\n", "not UTF-8 text (byte 0xe9)", "rules.yaml:2:12"),
    ("rules.yaml", b"rules:\n\x00", "binary data (NUL byte) in a text file", "rules.yaml:2:1"),
    ("rules.yaml", b"\xff\xfer\x00u\x00", "binary data (NUL byte)", "rules.yaml:1:1"),
    (
        "rules.yaml",
        b"rules: [\n  - id: x\n",
        "did not find expected node content",
        "rules.yaml:2:3",
    ),
    ("rules.yaml", b"# nothing\n", "the file is empty", "rules.yaml:1:1"),
    ("rules.yaml", b"a" * 100, "Input should be a valid dictionary", "rules.yaml:1:1"),
    (
        "rules.yaml",
        b'a: &a ["lol","lol"]\nb: &b [*a,*a,*a]\nrules: [*b]\n',
        "anchors and aliases are not allowed",
        "rules.yaml:1:4",
    ),
    (
        "rules.yaml",
        b"rules:\n  - id: t\n    category: art6.8\n    action: block\n"
        b"    terms_file: ../../etc/passwd\n",
        "points outside the rule set's folder",
        "rules.yaml:5:17",
    ),
    ("rules.zip", RULES.encode(), "not a zip archive", "rules.zip:1:1"),
    ("bad.zip", b"PK\x03\x04" + b"\x00" * 40, "not a zip archive", "bad.zip:1:1"),
    (
        "up.zip",
        zipped({"../evil.yaml": RULES.encode()}),
        "'..' is not allowed",
        "up.zip/../evil.yaml:1:1",
    ),
    ("up.zip", zipped({"/etc/evil.yaml": RULES.encode()}), "absolute paths are not allowed", None),
    ("up.zip", zipped({"C:/evil.yaml": RULES.encode()}), "absolute paths are not allowed", None),
    ("up.zip", with_link(), "symbolic links are not allowed", "up.zip/rules.yaml:1:1"),
    ("up.zip", lying_zip(), "unpacks to 1099511627776 bytes", "up.zip/rules.yaml:1:1"),
    (
        "up.zip",
        deflate_bomb,
        f"more than {RATIO} times its packed size (a likely zip bomb)",
        "up.zip/rules.yaml:1:1",
    ),
    ("up.zip", many_entries, f"more than {MEMBERS} entries", "up.zip:1:1"),
    (
        "up.zip",
        zipped({"README.md": b"hi"}),
        "no rule files (*.yaml, *.yml) in this archive",
        "up.zip:1:1",
    ),
    (
        "up.zip",
        zipped({"a.yaml": RULES.encode(), "b/a.yaml": RULES.encode()}),
        "the rule id 'gambling-ads' is already used at up.zip/a.yaml:2:5",
        "up.zip/b/a.yaml:2:9",
    ),
    (
        "many.yaml",
        (
            "rules:\n  - id: many\n    category: tos.spam\n    action: flag\n    terms: ["
            + ", ".join(f"t{n}" for n in range(TERMS + 1))
            + "]\n"
        ).encode(),
        f"the rule set holds more than {TERMS} terms",
        None,
    ),
]


@pytest.mark.parametrize("case", HOSTILE_UPLOADS, ids=lambda case: case[2][:40])
def test_hostile_and_malformed_uploads_are_refused_on_the_page(
    visitor: Visitor, desk: Desk, admin: str, case: tuple[Any, ...]
) -> None:
    name, made, says, where = case
    content = made() if callable(made) else made
    visitor.sign_in(admin)
    (only,) = versions(visitor, desk.service_id)
    for view in ("check", "deploy"):
        answer = send(visitor, view, desk.service_id, name, content)
        assert answer.status_code == 422, (view, answer.status_code, answer.text[:300])
        assert "text/html" in answer.headers["content-type"]
        shown = text_of(answer)
        assert says in shown, shown[:2000]
        if where is not None:
            assert f"<code>{html.escape(where, quote=True)}</code>" in answer.text
        assert 'id="upload-form"' in answer.text
        assert f'name="service" value="{desk.service_id}"' in answer.text
        assert 'id="check-result"' not in answer.text
        assert not TRACEBACK.search(answer.text)
    assert versions(visitor, desk.service_id) == [only]


def test_an_upload_without_a_file_or_service_is_refused_readably(
    visitor: Visitor, desk: Desk, admin: str
) -> None:
    visitor.sign_in(admin)
    for view in ("check", "deploy"):
        bare = send(visitor, view, desk.service_id, None, b"")
        assert bare.status_code == 422
        assert "Choose a rule file (.yaml, .yml) or a zip of a rule folder." in bare.text
        unnamed = send(visitor, view, desk.service_id, "", b"")  # no file chosen
        assert unnamed.status_code == 422
        assert "Choose a rule file" in unnamed.text
        for service in HOSTILE_STRINGS:
            answer = send(visitor, view, service, "trial.yaml", TRIAL)
            assert answer.status_code in {400, 404, 422}, (view, repr(service))
            assert "text/html" in answer.headers["content-type"]
            assert "<script>alert(1)</script>" not in answer.text
            assert not TRACEBACK.search(answer.text)
    assert len(versions(visitor, desk.service_id)) == 1


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_hostile_rule_files_and_names_get_a_readable_answer(
    visitor: Visitor, desk: Desk, admin: str, text: str
) -> None:
    visitor.sign_in(admin)
    content = text.encode("utf-8", "surrogatepass")
    answer = send(visitor, "check", desk.service_id, "hostile.yaml", content)
    assert answer.status_code == 422, answer.text[:300]
    assert not TRACEBACK.search(answer.text)
    assert "<script>alert(1)</script>" not in answer.text
    named = send(visitor, "check", desk.service_id, f"{text[:100]}.yaml", TRIAL)
    assert named.status_code in {200, 422}, named.text[:300]
    assert "<script>alert(1)</script>" not in named.text
    assert not TRACEBACK.search(named.text)


def test_the_page_shows_what_each_shadow_rule_would_have_done(
    visitor: Visitor, desk: Desk, admin: str
) -> None:
    visitor.sign_in(admin)
    empty = visitor.get(f"{PAGE}?service={desk.service_id}")
    assert "No shadow rule of this service has matched anything yet." in empty.text
    assert send(visitor, "deploy", desk.service_id, "trial.yaml", TRIAL).status_code == 303
    version = versions(visitor, desk.service_id)[0]
    assert desk.screen("m-1", "free money <b>now</b>")["verdict"] == "allow"
    assert desk.screen("m-2", "casino and free money")["verdict"] == "block"
    assert desk.screen("m-3", "FREE   cash 100")["verdict"] == "allow"
    page = visitor.get(f"{PAGE}?service={desk.service_id}")
    assert page.status_code == 200
    row = page.text.split('id="shadow-1"', 1)[1].split("</tr>", 1)[0]
    assert "<code>money-trial</code>" in row
    assert re.search(r"data-items>3<", row)
    assert re.search(r"data-stricter>2<", row)  # m-2 was blocked by a live rule anyway
    assert f'<code>{version[:16]}</code> <span class="badge met">active</span>' in row
    samples = re.findall(r"<li><code>([^<]+)</code>", row)
    assert samples == ["m-3", "m-2", "m-1"]
    assert "<mark>FREE   cash 100</mark>" in row
    assert "<mark>free money</mark> &lt;b&gt;now&lt;/b&gt;" in row  # escaped, never markup
    assert 'id="shadow-2"' not in page.text


def test_shadow_results_can_be_limited_to_a_recent_period(
    visitor: Visitor, desk: Desk, admin: str, database: Database
) -> None:
    visitor.sign_in(admin)
    assert send(visitor, "deploy", desk.service_id, "trial.yaml", TRIAL).status_code == 303
    desk.screen("m-old", "free money, long ago")
    desk.screen("m-new", "free money today")
    with database.session() as session, session.begin():
        session.execute(
            update(ContentItem)
            .where(ContentItem.content_id == "m-old")
            .values(created_at=utcnow() - timedelta(days=10))
        )
    shown = {
        period: visitor.get(f"{PAGE}?service={desk.service_id}&period={period}").text
        for period in ("", "7d", "30d", "junk")
    }
    for period, items in (("", 2), ("7d", 1), ("30d", 2), ("junk", 2)):
        assert re.search(rf"data-items>{items}<", shown[period]), period
    assert "<code>m-old</code>" not in shown["7d"]
    assert 'value="7d" selected' in shown["7d"]
    assert 'value="7d" selected' not in shown["junk"]  # an unknown period means all time


def nul_named_entry() -> bytes:
    """A zip with an entry whose name starts with NUL (zipfile reads it as an empty name)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Xrules.yaml", RULES)
    return buffer.getvalue().replace(b"Xrules.yaml", b"\x00rules.yaml")


def test_a_zip_entry_named_from_a_nul_is_refused_readably(
    visitor: Visitor, desk: Desk, admin: str
) -> None:
    visitor.sign_in(admin)
    answer = send(visitor, "check", desk.service_id, "nul.zip", nul_named_entry())
    assert answer.status_code == 422, answer.status_code
    assert "an entry&#39;s name is empty or holds a NUL" in answer.text
    api = desk.client.post(
        "/v1/rulesets",
        files={"file": ("nul.zip", nul_named_entry())},
        headers={"Authorization": f"Bearer {desk.key}"},
    )
    assert api.status_code == 422, api.text


def test_deploy_refuses_a_category_outside_the_services_packs(
    visitor: Visitor, make_service: ServiceFactory, admin: str
) -> None:
    """The demo rules name eu-dsa categories: a cn-xj-2014 service may not deploy them."""
    chat = str(make_service("Only CN", pack_ids=("cn-xj-2014",)).service.id)
    visitor.sign_in(admin)
    answer = send(visitor, "deploy", chat, "demo.zip", archive_folder(DEMO))
    assert answer.status_code == 422, answer.text
    assert "The rule set has problems; nothing was deployed." in answer.text
    listed = re.findall(r"<li><code>([^<]+)</code>", answer.text.split('id="check-problems"')[1])
    assert listed == ["demo.zip/fraud.yaml:3:5", "demo.zip/safety.yaml:3:5"]
    assert (
        "rule fraud-advance-fee: category STATEMENT_CATEGORY_SCAMS_AND_FRAUD is not a category "
        "of this service's packs (cn-xj-2014)" in text_of(answer)
    )
    assert versions(visitor, chat) == []


def test_a_rollback_outside_the_services_packs_is_refused_with_its_problems(
    visitor: Visitor,
    make_service: ServiceFactory,
    admin: str,
    database: Database,
    packs: PackRegistry,
) -> None:
    """A version deployed before the check (as if the service had every pack then) is
    checked again on rollback, as a deploy of it now: the page lists why, nothing changes."""
    created = make_service("Only CN", pack_ids=("cn-xj-2014",))
    chat = str(created.service.id)
    archive = archive_folder(DEMO)
    earlier = source_from_archive(archive, packs.all())
    with database.session() as session:
        screening.deploy(session, created.service.id, earlier, archive, packs=packs.all(), by="x")
    visitor.sign_in(admin)
    assert send(visitor, "deploy", chat, "trial.yaml", TRIAL).status_code == 303
    before = versions(visitor, chat)
    answer = visitor.post(f"{PAGE}/{earlier.version}/activate", {"service": chat}, form_page=PAGE)
    assert answer.status_code == 422, answer.text
    assert "The rule set has problems; nothing was deployed." in answer.text
    listed = re.findall(r"<li><code>([^<]+)</code>", answer.text.split('id="check-problems"')[1])
    assert listed == ["upload.zip/fraud.yaml:3:5", "upload.zip/safety.yaml:3:5"]
    assert (
        "rule fraud-advance-fee: category STATEMENT_CATEGORY_SCAMS_AND_FRAUD is not a category "
        "of this service's packs (cn-xj-2014)" in text_of(answer)
    )
    assert versions(visitor, chat) == before  # the trial rule set is still active
