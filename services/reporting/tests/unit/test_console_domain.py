"""The console's pure parts: money for people, what each role's token opens, charts as SVG."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from reporting.adapters.owner_services import QUEUE_SCOPES
from reporting.domain.charts import Point, bucket_bars, trend_chart
from reporting.domain.console import Viewer, amount, cents


def viewer(scopes: set[str], npi: str | None = None, practices: tuple[str, ...] = ("p-1",)) -> Viewer:
    return Viewer("u", practices[0], practices, frozenset(scopes), frozenset({"r"}), npi)


def test_cents_read_as_dollars() -> None:
    assert cents(123456) == "$1,234.56"
    assert cents(-5) == "-$0.05"
    assert cents(0) == "$0.00"
    assert cents(None) == "—"
    assert amount("12.5") == "$12.50" and amount(None) == "—" and amount("n/a") == "n/a"


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_cents_round_trip(value: int) -> None:
    shown = cents(value)
    assert int(Decimal(shown.replace("$", "").replace(",", "")) * 100) == value


def test_pages_follow_the_scopes_a_role_holds() -> None:
    biller = viewer({"reporting:read", "claims:read", "claims:write"})
    assert [p for p, _ in biller.pages(QUEUE_SCOPES)] == ["/console/kpis", "/console/denials", "/console/aging",
                                                          "/console/clinicians", "/console/queues"]
    clinician = viewer({"reporting:own"}, npi="1234567893")
    assert clinician.own_figures_only and clinician.pages(QUEUE_SCOPES) == [("/console/me", "My figures")]
    assert not viewer({"reporting:own"}).own_figures_only, "no npi, no figures"
    assert viewer({"claims:read"}).pages(QUEUE_SCOPES) == [("/console/queues", "Work queues")]
    assert viewer(set(), practices=("a", "b")).switches_practices


def test_a_trend_leaves_a_gap_where_a_period_had_no_claims_and_draws_its_targets() -> None:
    svg = trend_chart("t", "Denial rate", [Point("W1", Decimal("5")), Point("W2", None), Point("W3", Decimal("12")),
                                           Point("W4", Decimal("9"))], goal=Decimal("8"), trouble=Decimal("10"))
    assert svg.count("<polyline") == 2, "a line on each side of the empty week"
    assert svg.count('class="dot"') == 3
    assert 'class="goal"' in svg and 'class="trouble"' in svg
    assert "W2: no claims" in svg and 'role="img"' in svg


def test_chart_text_is_escaped() -> None:
    svg = trend_chart("x\"y", "<script>", [Point("<b>", Decimal("1"))])
    assert "<script>" not in svg and "<b>" not in svg
    bars = bucket_bars("a", "A/R", [("0-30", 15000), ("31-60", 0), ("121+", 250)])
    assert bars.count("<rect") == 3 and "$150" in bars and "0-30 days: $150.00" in bars
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)"', bars)]
    assert heights[1] == 0 and heights[0] > heights[2]


def test_an_axis_tops_at_a_round_number() -> None:
    from reporting.domain.charts import _nice

    assert [_nice(Decimal(v)) for v in ("40.4", "63.2", "0.3", "8", "101")] == [
        Decimal(50), Decimal(100), Decimal("0.5"), Decimal(10), Decimal(200)]
