"""Server-drawn SVG charts: proportions, labels, links, escaping."""

from __future__ import annotations

import re

from defusedxml import ElementTree as SafeET

from pcmd.reports.charts import Bar, bar_chart, trend_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_chart__lengths_proportional_and_linked() -> None:
    svg = bar_chart(
        [
            Bar("Phường Cẩm Thành", 80.0, "met", "80,0", "/submissions?ids=1,2"),
            Bar("Xã <An> Phú", 40.0, "not_met", "40,0"),
            Bar("Xã Trà Bồng", None, "no_data", "—"),
        ],
        target=70.0,
        title="TT1",
    )
    root = SafeET.fromstring(svg)  # well-formed, names escaped
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1]
    assert widths[2] == 0
    assert "Xã &lt;An&gt; Phú" in svg
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links == ["/submissions?ids=1,2"]
    assert re.search(r'<line x1="([\d.]+)"', svg)


def test_trend_chart__one_column_per_period() -> None:
    svg = trend_chart([("Q1", 10.0, "10"), ("Q2", None, "—"), ("Q3", 30.0, "30")], target=20)
    root = SafeET.fromstring(svg)
    heights = [float(r.get("height")) for r in root.iter(f"{SVG}rect")]
    assert heights[1] == 0
    assert abs(heights[2] - 3 * heights[0]) < 0.2
    assert [t.text for t in root.iter(f"{SVG}text")][:2] == ["Q1", "10"]
