"""The HTML report: self-contained, strict CSP, and inert whatever the scanned code holds (also in a real browser)."""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasec_scan.cli import main
from datasec_scan.config import Config
from datasec_scan.engine import scan_file
from datasec_scan.model import (Category, Confidence, FileResult, Finding, FlowStep, Location, Notification,
                                ScanResult, Severity, Suppression)
from datasec_scan.reporters import render

FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"
SCRIPT_BREAK = "</script><script>alert(1)</script>"
ATTR_BREAK = '"><img src=x onerror="document.title=\'pwned\'">'
HOSTILE = f'KEY = "{FAKE_KEY}"; A = "{SCRIPT_BREAK}"; B = \'{ATTR_BREAK}\'\n'
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "section", "h1", "h2", "h3", "p",
                "div", "span", "strong", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "ol", "li",
                "details", "summary"}


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append((tag, attrs))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        self._in_title = False

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)
        if self._in_title:
            self.title += data


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def _assert_inert(page: str) -> _Tags:
    parsed = _parse(page)
    names = {t for t, _ in parsed.tags}
    assert names <= ALLOWED_TAGS, names - ALLOWED_TAGS
    for tag, attrs in parsed.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "href", "action", "srcdoc"), (tag, name)
    assert parsed.title.strip() == "datasec-scan report"
    return parsed


def _hostile_result(tmp_path: Path, ruleset) -> ScanResult:
    name = 'evil"><img src=x onerror=alert(2)>.py'
    data = HOSTILE.encode()
    fr = scan_file(name, data, ruleset, Config())
    assert fr.findings and any(SCRIPT_BREAK in f.snippet for f in fr.findings), fr
    extra = Finding("DS999", "made-up", Category.OUTBOUND_DATA, Severity.CRITICAL, Confidence.HIGH,
                    f"message {SCRIPT_BREAK}", Location(name, 1), snippet=ATTR_BREAK,
                    flow=(FlowStep(Location(name, 1), f"step {ATTR_BREAK}"),),
                    suppression=Suppression("inline", f"reason {SCRIPT_BREAK}"))
    note = Notification(name, "parse-error", f"note {SCRIPT_BREAK}")
    fr = FileResult(fr.path, fr.findings + (extra,), fr.notifications + (note,), fr.lines)
    return ScanResult(str(tmp_path), (fr,), tuple(r.info() for r in ruleset.rules), "0-test")


def test_page_is_self_contained_with_strict_csp(tmp_path: Path, ruleset) -> None:
    page = render(_hostile_result(tmp_path, ruleset), "html")
    assert '<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src ' \
           '&#39;unsafe-inline&#39;' in page
    assert "<script" not in page.lower() and "<link" not in page.lower()
    _assert_inert(page)  # no element that loads anything: no src/href/action attributes at all
    assert "@import" not in page and "url(" not in page  # nor does the style sheet


def test_hostile_scanned_content_renders_as_text(tmp_path: Path, ruleset) -> None:
    page = render(_hostile_result(tmp_path, ruleset), "html")
    parsed = _assert_inert(page)
    text = "".join(parsed.text)
    assert SCRIPT_BREAK in text and ATTR_BREAK in text  # shown, as text
    findings = page[page.index('id="findings"'):page.index('id="notifications"')]
    findings = findings[:findings.find('id="rules"')] if 'id="rules"' in findings else findings
    assert FAKE_KEY not in findings and "AKIA…[redacted" in text  # (rule docs may quote the documented key)


def test_summary_groups_flow_notifications_and_optional_egress(tmp_path: Path, ruleset) -> None:
    result = _hostile_result(tmp_path, ruleset)
    page = render(result, "html")
    assert 'id="summary"' in page and 'id="findings"' in page and 'id="notifications"' in page
    assert "By severity" in page and "By category" in page and "Data flow:" in page
    assert "Suppressed (inline)" in page
    assert 'id="egress"' not in page

    @dataclass(frozen=True)
    class Egress:
        host: str
        port: int
        location: str

    page = render(result, "html", egress=[Egress("api.example.com", 443, "app.py:3"),
                                          {"host": SCRIPT_BREAK, "port": 80}])
    assert 'id="egress"' in page and "api.example.com" in page
    _assert_inert(page)


def test_cli_html_output(tmp_path: Path) -> None:
    (tmp_path / "evil.py").write_text(HOSTILE)
    runner = CliRunner()
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["scan", "--format", "html", "-o", str(out), "--no-cache", str(tmp_path)],
                           catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    _assert_inert(out.read_text(encoding="utf-8"))


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


@pytest.mark.slow
def test_page_in_headless_browser_runs_nothing_and_logs_no_console_message(tmp_path: Path, ruleset) -> None:
    browser = _browser()
    if browser is None:
        print("SKIPPED browser check: no chromium binary (install Debian's `chromium` package)")
        pytest.skip("no chromium binary: install Debian's `chromium` package to run the browser check")
    page = tmp_path / "report.html"
    page.write_text(render(_hostile_result(tmp_path, ruleset), "html"), encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    dom = done.stdout
    assert "datasec-scan report" in dom, done.stderr[-3000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, "\n".join(console)
    parsed = _assert_inert(dom)  # no injected element or handler in the live DOM; the title was not changed
    assert SCRIPT_BREAK in "".join(parsed.text)


def test_render_is_deterministic(tmp_path: Path, ruleset) -> None:
    result = _hostile_result(tmp_path, ruleset)
    assert render(result, "html") == render(result, "html")
    json.loads(render(result, "json"))  # the same result also renders as JSON
