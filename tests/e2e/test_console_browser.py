"""The operators' console in a real browser: Debian's Chromium (/usr/bin/chromium, nothing downloaded) driven by
Playwright over the whole platform as processes, after `rcm demo` has sent visits through. A biller signs in with
the keyboard, opens the KPI board, drills into a denial down to the claim's story, works a held claim (the claims
service answers, with the biller's own token); a clinician sees their own figures only; a billing-company operator
switches practice and sees nothing of the first one.

With RCM_SCREENSHOTS_DIR set (`make screenshots`), every page is saved there at 1280 px and at tablet width."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from rcm_cli import demo as demo_module
from rcm_cli import platform as embedded
from rcm_cli.demo import CLINICIANS, PRACTICE, demo
from rcm_shared.testing.fixtures import auth

pytestmark = pytest.mark.e2e
CHROMIUM = os.environ.get("RCM_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}
OTHER_PRACTICE = "other-practice"


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Shots:
    """Saves a page when RCM_SCREENSHOTS_DIR is set, at the width it is shown and at tablet width."""

    def __init__(self) -> None:
        target = os.environ.get("RCM_SCREENSHOTS_DIR")
        self.folder = Path(target) if target else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Page, name: str) -> None:
        if self.folder is None:
            return
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        page.set_viewport_size(TABLET)
        page.screenshot(path=str(self.folder / f"{name}-tablet.png"), full_page=True)
        page.set_viewport_size(DESKTOP)


def reporting_has_the_demo(url: str) -> None:
    """Reporting reads the topics on its own time: wait (with a deadline) until it holds adjudicated claims."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        board = httpx.get(f"{url}/v1/kpis", headers=auth(PRACTICE), timeout=30).json()
        figures = {k["kpi"]: k for k in board["kpis"]}
        if figures["denial_rate"]["numerator"] > 0:
            return
        time.sleep(1)
    raise AssertionError("reporting never held the demo's denials")


def sign_in(page: Page, console: str, username: str, role: str, practice: str, npi: str = "") -> None:
    """With the keyboard only: the skip link is the first stop, then the form's fields in order."""
    page.goto(f"{console}/sign-in")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.get_by_label("User name").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("id", "role")
    page.get_by_label("Role").select_option(role)
    page.get_by_label("Practice").fill(practice)
    if npi:
        page.get_by_label("NPI").fill(npi)
    page.get_by_label("NPI").press("Enter")
    page.wait_for_url(re.compile(r".*/console/(kpis|me)$"))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/console/sign-in"))


@pytest.mark.timeout(1200)  # eight processes, the demo and a browser on a shared 2-core machine
def test_a_billing_team_works_the_console_in_a_real_browser(running_platform: embedded.RunningPlatform,
                                                            browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo's payer denies one claim in three of each ERA (its default, one in six, may deny none of 16 visits)
    monkeypatch.setattr(demo_module, "SANDBOX_PAYER", dataclasses.replace(demo_module.SANDBOX_PAYER, deny_every=3))
    demo(visits=16, seed=3)
    urls = running_platform.urls()
    reporting_has_the_demo(urls["reporting"])
    console = running_platform.console_url()
    assert console is not None, "the embedded platform runs reporting, which serves the console"
    shots = Shots()
    page = browser.new_page(viewport=DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text else None)

    page.goto(console)
    expect(page).to_have_url(re.compile(r".*/console/sign-in\?next="))
    shots(page, "sign-in")
    sign_in(page, console, "bea", "biller", PRACTICE)

    # The KPI board: every figure with its target and judgement, the trends as charts.
    expect(page.get_by_role("heading", name="KPI board", level=1)).to_be_visible()
    shots(page, "kpi-board")
    expect(page.locator("ul.cards > li")).to_have_count(10)
    expect(page.locator("svg.chart")).to_have_count(8)
    figures = page.get_by_role("region", name="Figures")
    expect(figures.get_by_role("heading", name="First-pass clean claims")).to_be_visible()
    expect(figures.get_by_text("goal ≥ 92%")).to_be_visible()

    # Drill into a denial: the denial rate's claims, then one claim's story.
    page.get_by_role("link", name=re.compile(r"behind Denial rate$")).click()
    expect(page.get_by_role("heading", name="Denial rate", level=1)).to_be_visible()
    denied = page.locator("table tbody tr")
    expect(denied.first).to_be_visible()
    shots(page, "denial-claims")
    claim_link = denied.first.get_by_role("link")
    claim_id_prefix = claim_link.inner_text()
    claim_link.click()
    expect(page.get_by_role("heading", name=re.compile(f"Claim {claim_id_prefix}"))).to_be_visible()
    expect(page.get_by_role("heading", name="Denials")).to_be_visible()
    shots(page, "claim")

    for path, heading, name in (("/denials?by=payer", "Denials", "denials-by-payer"),
                                ("/aging?by=clinician", "A/R aging", "ar-aging"),
                                ("/clinicians", "Clinician summary", "clinician-summary")):
        page.goto(console + path)
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        shots(page, name)

    # Work a held claim on claims' queue (the work-item kernel): the claims service answers the biller's own request.
    page.get_by_role("link", name="Work queues").click()
    expect(page.get_by_role("heading", name="Work queues", level=1)).to_be_visible()
    for queue in ("Held claims", "Denials: clinical liaison", "ERA exceptions", "Eligibility work items",
                  "Authorizations running out", "Unmatched cash"):
        expect(page.get_by_role("link", name=re.compile(f"^{queue}"))).to_be_visible()
    shots(page, "queues")
    page.get_by_role("link", name=re.compile(r"^Held claims")).click()
    expect(page.get_by_role("heading", name="Held claims", level=1)).to_be_visible()
    page.get_by_label("Sort").select_option("amount")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"sort=amount"))
    first_held = page.locator("table.queue tbody tr").first
    expect(first_held).to_be_visible()
    shots(page, "queue-held-claims")
    first_held.get_by_role("combobox", name=re.compile(r"^Action on")).select_option("assign")
    first_held.get_by_role("button", name="Apply").click()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("Assigned to you:")
    expect(notice).to_be_focused()
    expect(page.locator("table.queue tbody")).to_contain_text("bea")
    shots(page, "queue-after-action")
    for queue in ("kernel:remittance:clinical_liaison", "kernel:eligibility:eligibility",
                  "kernel:remittance:era_exceptions"):
        page.goto(f"{console}/queues/{queue}")
        expect(page.locator("main h1")).to_be_visible()
        shots(page, f"queue-{queue.rsplit(':', 1)[-1]}")
    sign_out(page)

    # A clinician: their own month, nothing of the practice's books or colleagues.
    own, colleague = CLINICIANS[0]["npi"], CLINICIANS[1]["npi"]
    sign_in(page, console, "dr-rivera", "clinician", PRACTICE, npi=own)
    expect(page.get_by_role("heading", name="My figures", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Pages").get_by_role("link")).to_have_count(1)
    expect(page.locator("main")).to_contain_text(own)
    expect(page.locator("main")).not_to_contain_text(colleague)
    shots(page, "my-figures")
    assert page.goto(f"{console}/kpis").status == 403  # type: ignore[union-attr]
    page.goto(f"{console}/me")
    sign_out(page)

    # A billing-company operator: switches to another practice and sees none of the first one's claims.
    sign_in(page, console, "olu", "billing-company-operator", f"{PRACTICE} {OTHER_PRACTICE}")
    page.goto(f"{console}/kpis/denial_rate?show=base")
    expect(page.locator("table tbody tr").first).to_be_visible()
    first_practice_claims = [str(href).rsplit("/", 1)[-1]
                             for href in page.locator("table tbody tr th a").evaluate_all(
                                 "links => links.map(a => a.getAttribute('href'))")]
    assert first_practice_claims
    page.get_by_label("Practice").select_option(OTHER_PRACTICE)
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_label("Practice")).to_have_value(OTHER_PRACTICE)
    expect(page.locator("main")).to_contain_text("No claims")
    shots(page, "operator-other-practice")
    page.goto(f"{console}/queues/kernel:claims:held_claims")
    expect(page.locator("main")).to_contain_text("Nothing in this queue")
    for path in ("/kpis", "/aging?by=payer", "/clinicians", "/denials"):
        page.goto(console + path)
        text = page.locator("main").inner_text()
        assert not any(claim in text for claim in first_practice_claims), path
        assert own not in text and colleague not in text, f"{path} shows the first practice's clinicians"
    assert page.goto(f"{console}/claims/{first_practice_claims[0]}").status == 404  # type: ignore[union-attr]
    assert not errors, errors
