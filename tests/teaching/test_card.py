"""The plan card is made headless, on one page, and says the verdict, the reasons and the source."""

from __future__ import annotations

import numpy as np
import pytest

from needlesim.cli import main
from needlesim.teaching import load_scenario, run_scenario
from needlesim.teaching.card import make_card, write_html, write_pdf

pypdf = pytest.importorskip("pypdf")


def _text(path) -> str:
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) == 1
    return " ".join(" ".join(reader.pages[0].extract_text().split()).split())


def test_the_card_of_a_scenario_carries_verdict_reasons_rules_and_citation(builtin_scene, tmp_path):
    s = load_scenario("nam2019-left-s2")
    r = run_scenario(s, scene=builtin_scene)
    img = np.zeros((40, 60, 3), np.uint8)
    card = make_card(r, scene="built-in scene", scenario=s, images=[("a view", img), ("another", img)])
    text = _text(write_pdf(card, tmp_path / "card.pdf"))
    for needle in ("Verdict: DANGER", "touches the left S2 root at 78.2 mm", "BMC Cancer 2019;19:347",
                   "lateral angle -46.0 deg is outside 25 to 35 deg", "depth 80.0 mm is outside at most 60 mm",
                   "left S2 root: contact (1.1 mm overlap)", "left S2 sleeve: 12.3 mm", "lateral -46 deg, inferior 18 deg, depth 80 mm", "built-in scene",
                   "needlesim ", "a view"):
        assert needle in text, needle
    html = write_html(card, tmp_path / "card.html").read_text()
    assert "Verdict: DANGER" in html and "BMC Cancer 2019;19:347" in html and html.count("data:image/png;base64,") == 2
    assert "touches the left S2 root at 78.2 mm" in html


def test_a_comparison_card_states_the_difference(builtin_scene, tmp_path):
    safe = run_scenario(load_scenario("envelope-centre-left"), scene=builtin_scene)
    s = load_scenario("nam2019-left-s2")
    card = make_card(run_scenario(s, scene=builtin_scene), scene="built-in", scenario=s, compare_with=safe)
    text = _text(write_pdf(card, tmp_path / "c.pdf"))
    assert "76 deg more medial, 4.5 deg more cephalad and 20 mm deeper" in text
    assert "Reference aim: SAFE" in text and "Compared aim: DANGER" in text


def test_report_cli_for_an_aim_writes_a_pdf_without_renders(tmp_path, capsys):
    out = tmp_path / "aim.pdf"
    assert main(["report", "--entry", "left-entry", "--lateral", "30", "--inferior", "22.5", "--depth", "60",
                 "--no-images", "-o", str(out)]) == 0
    text = _text(out)
    assert "Verdict: SAFE" in text and "no rule is broken" in text and "Nam YS et al." in text
    assert len(pypdf.PdfReader(str(out)).pages[0].images) == 1  # the fluoroscopic view, nothing rendered
    assert "fluoroscopy, AP view (tip circled)" in text
    assert main(["report", "--entry", "left-entry", "--lateral", "30", "--inferior", "22.5", "--depth", "60",
                 "--no-images", "--fluoro", "none", "-o", str(out)]) == 0
    assert len(pypdf.PdfReader(str(out)).pages[0].images) == 0 and "fluoroscopy" not in _text(out)
    capsys.readouterr()
    assert main(["report", "--entry", "left-entry", "--lateral", "30", "--inferior", "22.5", "--depth", "60",
                 "--fluoro", "sideways", "-o", str(tmp_path / "bad.pdf")]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown --fluoro 'sideways'" in err and len(err.splitlines()) == 1 and not (tmp_path / "bad.pdf").exists()
    assert main(["report", "--entry", "left-entry", "-o", str(out)]) == 2
    assert "missing --lateral, --inferior, --depth" in capsys.readouterr().err
    assert main(["report", "--scenario", "nam2019-left-s2", "-o", str(tmp_path / "x.docx")]) == 2


@pytest.mark.slow
def test_report_cli_for_a_scenario_renders_two_views(tmp_path):
    out = tmp_path / "card.pdf"
    assert main(["report", "--scenario", "perpendicular-si-joint", "-o", str(out)]) == 0
    text = _text(out)
    assert "Verdict: DANGER" in text and "sacroiliac joint" in text and "Hirahara" in text
    assert "posterior view" in text and "axial view" in text
    assert "fluoroscopy, lateral view (tip circled)" in text  # a perpendicular aim runs along the AP beam
    assert len(pypdf.PdfReader(str(out)).pages[0].images) == 3


def test_a_comparison_card_from_the_cli_shows_both_needles_on_the_radiograph(tmp_path):
    out = tmp_path / "card.html"
    assert main(["report", "--scenario", "nam2019-left-s2", "--compare", "envelope-centre-left", "--no-images",
                 "--fluoro", "lateral", "-o", str(out)]) == 0
    html = out.read_text()
    assert html.count("data:image/png;base64,") == 1 and "fluoroscopy, lateral view (tips circled)" in html
