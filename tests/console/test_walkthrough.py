"""The console in a real browser against a real server with the demo data: a notice from
the public (without JavaScript), a moderator's claim and decision, the action delivered to
the service's webhook, the notifier's appeal with the token, a senior moderator's reversal
(in Chinese), every main page screenshot at 1280 and 390 px and checked by axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from console_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SHOTS_FOR_THE_LEAD,
    Camera,
    require_chromium,
)

from receiver import Receiver, running_receiver

from support import bearer, running_server

DEMO_CHAT_KEY = "td_demo-chat-key-for-development-only"
PASSWORD = "trustdesk-demo"
PUBLIC_CATEGORY = "eu-dsa:STATEMENT_CATEGORY_CONSUMER_INFORMATION"
OTHER_CATEGORY = "eu-dsa:STATEMENT_CATEGORY_ANIMAL_WELFARE"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (only with chromium)

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hook: Receiver) -> Iterator[str]:
    require_chromium()
    folder = tmp_path_factory.mktemp("console-server")
    env = {"TRUSTDESK_DELIVERY_INTERVAL_SECONDS": "1"}
    with running_server(folder, "--demo", env=env) as (base, _process):
        answer = httpx.put(
            f"{base}/v1/webhook", json={"url": hook.url}, headers=bearer(DEMO_CHAT_KEY)
        )
        assert answer.status_code == 200, answer.text
        yield base


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Camera:
    return Camera(tmp_path_factory.mktemp("screenshots"))


def sign_in(browser: Any, base: str, username: str, locale: str = "en-GB") -> Any:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/console/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def file_notice(
    page: Any, base: str, content_id: str, explanation: str, category: str = PUBLIC_CATEGORY
) -> tuple[str, str]:
    page.goto(f"{base}/console/report")
    page.select_option("#service", label="Demo Chat")
    page.click("form[method=get] button")
    page.fill("#content_id", content_id)
    page.select_option("#category", value=category)
    page.fill("#explanation", explanation)
    page.fill("#name", "A. Reader")
    page.fill("#email", "reader@example.org")
    page.check("input[name=good_faith]")
    page.click("form[method=post] button[type=submit]")
    page.wait_for_url(re.compile(r"/console/report/receipt$"))
    return page.inner_text("#notice-id"), page.inner_text("#notice-token")


def test_the_public_files_a_notice_without_javascript(browser: Any, server: str) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    notice_id, token = file_notice(
        page, server, "msg-1010", "It sells a puppy kept in a cage.", OTHER_CATEGORY
    )
    assert token.startswith("tdn_")
    page.reload()
    assert page.locator("#notice-token").count() == 0, "the token is shown only once"
    page.goto(f"{server}/console/outcome")
    page.fill("#notice_id", notice_id)
    page.fill("#token", token)
    page.click("form[method=post] button[type=submit]")
    assert "Waiting for review" in page.inner_text("#case-state")
    context.close()


def test_a_notice_is_decided_delivered_appealed_and_reversed(
    browser: Any, server: str, hook: Receiver, camera: Camera
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415  (only with chromium)

    # The public, in a browser asking for Chinese: the form, the receipt.
    public = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    notifier = public.new_page()
    notifier.goto(f"{server}/console/")
    assert notifier.locator("html").get_attribute("lang") == "zh-Hans"
    camera.check(notifier, "01-home-zh")
    notifier.goto(f"{server}/console/report?service=")
    notifier.select_option("#service", label="Demo Chat")
    notifier.click("form[method=get] button")
    camera.check(notifier, "02-notice-form-zh")
    notice_id, token = file_notice(
        notifier, server, "msg-1009", "The meeting notice hides a paid subscription."
    )
    assert "回执" in notifier.inner_text("h1")
    camera.check(notifier, "03-receipt-zh")

    # A moderator: the queue, a held message with its matches, claim, decide, delivery.
    moderator = sign_in(browser, server, "mod.alice")
    assert moderator.url.endswith("/console/queue")
    camera.check(moderator, "04-queue")
    moderator.select_option("#f-category", value="eu-dsa:STATEMENT_CATEGORY_SCAMS_AND_FRAUD")
    expect(moderator.locator("#queue")).not_to_contain_text("Insult")
    moderator.locator("#queue a", has_text="Scams").first.click()
    moderator.wait_for_load_state()
    case_url = moderator.url
    moderator.click("text=Claim this case")
    assert moderator.locator("mark").count() >= 1, "the matched span is highlighted"
    camera.check(moderator, "05-case-claimed")
    moderator.check("input[name=actions][value=stop_dissemination]")
    moderator.fill("#d-facts", "Asks for a payment to release a parcel: advance-fee fraud.")
    moderator.click("#decision-form button[type=submit]")
    moderator.wait_for_url(case_url)
    status = moderator.locator("[data-status]").first
    status.wait_for()
    moderator.wait_for_selector("[data-status=delivered]", timeout=30_000)
    assert hook.bodies(), "the webhook received the action"
    camera.check(moderator, "06-case-decided-delivered")

    # The notifier's case: no action.
    moderator.goto(f"{server}/console/queue?category={PUBLIC_CATEGORY}")
    rows = moderator.locator("#queue tbody tr")
    expect(rows).to_have_count(1)
    rows.locator("button", has_text="Claim").click()
    moderator.wait_for_load_state()
    moderator.fill("#d-facts", "A meeting reminder; nothing unlawful in it.")
    moderator.click("#decision-form button[type=submit]")
    moderator.wait_for_selector("text=No action was decided")

    # The notifier reads the outcome with the token and appeals.
    notifier.goto(f"{server}/console/outcome")
    camera.check(notifier, "07-outcome-form-zh")
    notifier.fill("#notice_id", notice_id)
    notifier.fill("#token", token)
    notifier.click("form[method=post] button[type=submit]")
    assert "已决定" in notifier.inner_text("#case-state")
    camera.check(notifier, "08-outcome-zh")
    notifier.fill("#reason", "The message links to a paid subscription it does not disclose.")
    notifier.click("form[action$='/outcome/appeal'] button")
    assert "申诉已提交" in notifier.inner_text("main")

    # A senior moderator (Chinese profile) reverses: the content is acted on.
    senior = sign_in(browser, server, "senior.chen")
    assert senior.url.endswith("/console/queue")
    senior.goto(f"{server}/console/appeals")
    assert senior.locator("html").get_attribute("lang") == "zh-Hans"
    camera.check(senior, "09-appeals-zh")
    card = senior.locator("section.card", has_text="举报人提出的申诉").first
    card.locator("input[value=reverse]").check()
    card.locator("input[name=actions][value=stop_dissemination]").check()
    card.locator("textarea").fill("链接指向未披露的付费订阅，应停止传播。")
    card.locator("button[type=submit]").click()
    assert "原决定已撤销" in senior.inner_text("main")

    notifier.goto(f"{server}/console/outcome")
    notifier.fill("#notice_id", notice_id)
    notifier.fill("#token", token)
    notifier.click("form[method=post] button[type=submit]")
    acted = notifier.inner_text("#decision-actions")
    assert "不予处置" not in acted, "after the reversal the content is acted on"
    assert notifier.locator("#statement").count() == 1, "with a statement of reasons"

    # The error pages and the sign-in page are checked too.
    anonymous = browser.new_context(locale="en-GB").new_page()
    anonymous.goto(f"{server}/console/login")
    camera.check(anonymous, "10-login")
    missing = anonymous.goto(f"{server}/console/no-such-page")
    assert missing is not None and missing.status == 404
    camera.check(anonymous, "11-not-found")
    assert "Traceback" not in anonymous.content()
    assert (SHOTS_FOR_THE_LEAD / "axe.json").is_file()


def test_two_approvers_approve_a_disclosure_and_compliance_reads_its_register(
    browser: Any, server: str, camera: Camera
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415  (only with chromium)

    # The first approver (English) sees the demo's pending request and approves it.
    eli = sign_in(browser, server, "approver.eli")
    eli.goto(f"{server}/console/disclosures")
    card = eli.locator("section.card", has_text="DEMO-2026-001")
    expect(card).to_contain_text("Criminal Procedure Law art. 54")
    camera.check(eli, "12-disclosures")
    card.locator("input[name=verdict][value=approve]").check()
    card.locator("button[type=submit]").click()
    expect(eli.locator("main")).to_contain_text("waits for another approver")

    # The second approver (Chinese profile) approves: the request opens for one reveal.
    fang = sign_in(browser, server, "approver.fang")
    fang.goto(f"{server}/console/disclosures")
    assert fang.locator("html").get_attribute("lang") == "zh-Hans"
    card = fang.locator("section.card", has_text="DEMO-2026-001")
    expect(card).to_contain_text("approver.eli")
    camera.check(fang, "13-disclosures-zh")
    card.locator("input[name=verdict][value=approve]").check()
    card.locator("button[type=submit]").click()
    expect(fang.locator("main")).to_contain_text("请求已批准")

    # The compliance officer: her requests, the register, the transparency report.
    dana = sign_in(browser, server, "compliance.dana")
    dana.goto(f"{server}/console/disclosures/requests")
    expect(dana.locator("#my-disclosures")).to_contain_text("approved, not yet revealed")
    camera.check(dana, "14-disclosure-requests")
    dana.locator("#my-disclosures button", has_text="Reveal once").click()
    expect(dana.locator("#revealed")).to_contain_text("acct-23")
    expect(dana.locator("#revealed")).to_contain_text("verified")
    camera.check(dana, "21-disclosure-revealed")
    dana.goto(f"{server}/console/disclosures/requests")
    expect(dana.locator("#my-disclosures")).not_to_contain_text("Reveal once")
    dana.goto(f"{server}/console/compliance")
    expect(dana.locator("#obligations tbody tr").first).to_be_visible()
    camera.check(dana, "15-compliance")
    dana.click("text=Run the check and resolve findings")
    finding = dana.locator("#findings tbody tr.overdue").first
    expect(finding).to_contain_text("frankfurt-backup")
    finding.locator("textarea").fill("Backups move to the Urumqi data centre; contract signed.")
    finding.locator("button[type=submit]").click()
    expect(dana.locator("main")).to_contain_text("The finding is resolved")
    camera.check(dana, "22-residency")
    dana.goto(f"{server}/console/compliance")
    dana.click("text=Add, remove or import servers")
    dana.fill("#s-name", "urumqi-backup")
    dana.select_option("#s-kind", value="data_store")
    dana.fill("#s-role", "backup")
    dana.fill("#s-provider", "Example Cloud")
    dana.fill("#s-location", "CN-XJ")
    dana.fill("#s-populations", "CN")
    dana.click("#server-form button[type=submit]")
    expect(dana.locator("#servers")).to_contain_text("urumqi-backup")
    camera.check(dana, "23-servers")
    dana.goto(f"{server}/console/compliance")
    dana.click("text=Add or remove entries")
    expect(dana.locator("main")).to_contain_text("SM4")
    camera.check(dana, "24-crypto")
    dana.goto(f"{server}/console/compliance")
    dana.click("text=Record filings and attach documents")
    camera.check(dana, "25-filings")
    dana.goto(f"{server}/console/compliance/transparency")
    dana.click("#report-form button[type=submit]")
    expect(dana.locator("svg.bars").first).to_be_visible()
    camera.check(dana, "16-transparency")

    # The auditor: the record log and one entry's inclusion proof.
    gus = sign_in(browser, server, "auditor.gus")
    gus.goto(f"{server}/console/log")
    expect(gus.locator("#checkpoint")).to_contain_text("Root hash")
    gus.fill("#l-check", "0")
    gus.click("#proof button[type=submit]")
    expect(gus.locator("#proof-result")).to_contain_text("Entry 0 is included")
    camera.check(gus, "17-record-log")


RULE_FILE = b"""\
rules:
  - id: lottery-lure
    category: art6.8
    action: hold
    terms: [lottery jackpot, insider draw numbers]
  - id: prize-bait
    category: art6.8
    action: block
    mode: shadow
    terms: [claim your prize]
"""


def test_an_admin_runs_users_keys_and_rule_sets(browser: Any, server: str, camera: Camera) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415  (only with chromium)

    admin = sign_in(browser, server, "admin")
    admin.goto(f"{server}/console/admin/users")
    expect(admin.locator("#users")).to_contain_text("approver.fang")
    admin.fill("#u-username", "mod.dev")
    admin.fill("#u-display", "Dev (moderator)")
    admin.check("input[name=roles][value=moderator]")
    admin.fill("#u-password", "a-long-demo-password")
    admin.click("#user-form button[type=submit]")
    expect(admin.locator("main")).to_contain_text("The user is created.")
    camera.check(admin, "18-users")
    admin.locator("#users a", has_text="mod.dev").click()
    expect(admin.locator("main")).to_contain_text("Dev (moderator)")
    camera.check(admin, "26-user")

    admin.goto(f"{server}/console/admin/services")
    expect(admin.locator("#services")).to_contain_text("Demo Chat")
    camera.check(admin, "19-services")
    keys = admin.locator("section.card", has_text="API keys of Demo Cloud")
    keys.locator("button", has_text="Issue a new key").click()
    key = admin.inner_text("#new-key-value")
    assert key.startswith("td_")
    camera.check(admin, "27-new-key")
    assert httpx.get(f"{server}/v1/service", headers=bearer(key)).status_code == 200
    admin.goto(f"{server}/console/admin/services")
    assert key not in admin.content(), "a key is shown once"
    keys = admin.locator("section.card", has_text="API keys of Demo Cloud")
    keys.locator("tr", has_text=key[:11]).locator("button", has_text="Revoke").click()
    expect(admin.locator("main")).to_contain_text("The API key is revoked")
    assert httpx.get(f"{server}/v1/service", headers=bearer(key)).status_code == 401

    admin.goto(f"{server}/console/admin/services")
    admin.locator("#services a", has_text="Rule sets").first.click()
    expect(admin.locator("#deployments tbody tr").first).to_contain_text("active")
    expect(admin.locator("#shadow-results")).to_be_visible()
    camera.check(admin, "20-rulesets")
    upload = {"name": "lottery.yaml", "mimeType": "application/yaml", "buffer": RULE_FILE}
    admin.set_input_files("#rs-file", upload)
    admin.click("#check-button")
    expect(admin.locator("#checked-shadow")).to_contain_text("prize-bait")
    camera.check(admin, "28-ruleset-checked")
    admin.set_input_files("#rs-file", upload)
    admin.click("#deploy-button")
    expect(admin.locator("main")).to_contain_text("The rule set is deployed and active.")
    hit = httpx.post(
        f"{server}/v1/screen",
        json={
            "content": {"id": "msg-2001", "text": "the lottery jackpot tip"},
            "subject": "acct-17",
        },
        headers=bearer(DEMO_CHAT_KEY),
    )
    assert hit.json()["verdict"] == "hold", hit.text
    admin.locator("#deployments button", has_text="Make this version active again").first.click()
    expect(admin.locator("main")).to_contain_text("The chosen rule set is active again.")
    back = httpx.post(
        f"{server}/v1/screen",
        json={
            "content": {"id": "msg-2002", "text": "the lottery jackpot tip"},
            "subject": "acct-17",
        },
        headers=bearer(DEMO_CHAT_KEY),
    )
    assert back.json()["verdict"] == "allow", back.text

    admin.locator("a.who").click()
    expect(admin.locator("#session-list")).to_contain_text("this session")
    camera.check(admin, "29-account")
    admin.click("#sign-out-everywhere button[type=submit]")
    expect(admin.locator("main")).to_contain_text("You are signed out everywhere.")
    admin.goto(f"{server}/console/admin/users")
    expect(admin.locator("#username")).to_be_visible()  # back at the sign-in page
