"""interp.report.head_report: the three files are complete, strict, escaped, offline and deterministic,
and a failed write leaves nothing behind."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser

import pytest
import torch

from interp.results.classification import Classification
#: The behaviors of the hand-made documents below.
BEHAVIORS = ("previous_token", "duplicate_token", "induction")
from interp.report.head_report import render_html, render_json, render_markdown, write_report
from interp.results.classification import SCHEMA_VERSION

torch.set_num_threads(1)

EVIL = "<script>alert(1)</script>"
METRICS = {
    "previous_token": "downstream_induction",
    "duplicate_token": "probe_accuracy:occurred_before@blocks.0.hook_resid_post",
    "induction": "second_copy_loss",
}


def _head(layer, index, scores, classes=(), confirmed=(), loss_effect=0.01):
    """One head's record, as ``HeadClass.to_dict()`` writes it."""
    nulls = {b: 0.1 for b in BEHAVIORS}
    ablation = {}
    for b in classes:
        ok = b in confirmed
        effect, relative = (0.8, 0.4) if ok else (0.02, 0.01)
        ablation[b] = {
            "method": "mean", "metric": METRICS[b], "clean": 1.0, "ablated": 1.0 + effect,
            "effect": effect, "relative": relative, "stderr": 0.05, "confirmed": ok,
        }
    return {
        "head": f"{layer}.{index}", "layer": layer, "index": index,
        "scores": dict(zip(BEHAVIORS, scores)),
        "nulls": nulls,
        "lifts": {b: (s - 0.1) / 0.9 for b, s in zip(BEHAVIORS, scores)},
        "stderr": {b: 0.01 for b in BEHAVIORS},
        "classes": list(classes),
        "ablation": ablation,
        "loss_effect": loss_effect,
    }


#: The example sequence: [BOS] r r with r = 5 6 7 (repeat_len 3).
TOKENS = [0, 5, 6, 7, 5, 6, 7]


def _pattern(target) -> list[list[float]]:
    """Rows ``q`` over keys ``0..q``: all attention on ``target(q)`` (or on BOS)."""
    rows = []
    for q in range(len(TOKENS)):
        k = target(q)
        k = k if k is not None and 0 <= k <= q else 0
        rows.append([1.0 if i == k else 0.0 for i in range(q + 1)])
    return rows


def make_document(name: str = "tiny-test", example: bool = True) -> dict:
    """2 layers x 2 heads: 0.1 previous-token (confirmed), 1.0 induction (confirmed),
    1.1 induction and duplicate-token (both unconfirmed), 0.0 nothing. With ``example``,
    weight evidence and the example patterns of every head but 1.1 are recorded too."""
    document = {
        "model": {"name": name, "n_layers": 2, "n_heads": 2, "d_model": 64, "d_vocab": 64},
        "settings": {
            "seed": 0, "n_seqs": 32, "seq_len": 30, "method": "mean", "min_lift": 0.3,
            "z": 3.0, "min_effect": 0.1, "z_effect": 2.0, "sweep": True,
            "stimuli": {"kind": "repeated_random_tokens", "seed": 0, "seq_len": 30},
        },
        "baseline": {"first_copy_loss": 4.1, "second_copy_loss": 2.1},
        "heads": [
            _head(0, 0, (0.12, 0.11, 0.10), loss_effect=-0.003),
            _head(0, 1, (0.91, 0.05, 0.02), ["previous_token"], ["previous_token"], 1.7),
            _head(1, 0, (0.03, 0.20, 0.85), ["induction"], ["induction"], 0.9),
            _head(1, 1, (0.04, 0.55, 0.61), ["induction", "duplicate_token"], [], 0.05),
        ],
        "groups": [{
            "behavior": "induction", "heads": ["1.0", "1.1"], "method": "mean",
            "metric": "second_copy_loss", "clean": 2.1, "ablated": 4.0, "effect": 1.9,
            "stderr": 0.1, "relative": 0.95, "seed": 0, "confirmed": True,
        }],
    }
    if not example:
        return document
    document["settings"]["stimuli"]["repeat_len"] = 3
    heads = document["heads"]
    heads[1]["ablation"]["previous_token"]["receivers"] = ["1.0"]
    for h, copying in zip(heads, (0.01, -0.2, 0.93, 0.4)):
        h["weights"] = {"ov_copying": copying}
        if "induction" in h["classes"]:
            h["weights"]["key_feeders"] = [{"head": "0.1", "k_composition_excess": 0.25}]
            h["weights"]["feeder_source"] = "previous_token"
    heads[3]["weights"]["key_feeders"] = []
    heads[3]["weights"]["feeder_source"] = "previous_token"
    document["example"] = {
        "tokens": TOKENS,
        "patterns": {
            "0.0": _pattern(lambda q: 0),
            "0.1": _pattern(lambda q: q - 1),
            "1.0": _pattern(lambda q: q - 2 if q >= 4 else None),
        },
    }
    return document


@pytest.fixture
def result() -> Classification:
    return Classification.from_dict(make_document())


def _strict_loads(text: str):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_write_report_writes_the_three_files(result, tmp_path):
    out = tmp_path / "new" / "report"
    paths = write_report(result, out)
    assert set(paths) == {"html", "json", "markdown"}
    assert {p.name for p in paths.values()} == {"report.html", "report.json", "report.md"}
    assert all(p.is_file() and p.parent == out for p in paths.values())
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md"]


def test_json_is_strict_and_round_trips(result, tmp_path):
    paths = write_report(result, tmp_path)
    document = _strict_loads(paths["json"].read_text(encoding="utf-8"))
    record = document.pop("output_set")  # run id and the other files' sha256
    assert set(record["sha256"]) == {"report.html", "report.md"}
    assert document == result.to_dict()
    assert [h["head"] for h in document["heads"]] == ["0.0", "0.1", "1.0", "1.1"]
    assert all(re.fullmatch(r"\d+\.\d+", h["head"]) for h in document["heads"])
    assert Classification.from_dict(document) == result


def test_json_turns_nan_and_inf_into_null():
    document = make_document()
    document["heads"][0]["scores"]["induction"] = float("nan")
    document["heads"][0]["loss_effect"] = float("inf")
    document["groups"][0]["relative"] = float("-inf")
    loaded = _strict_loads(render_json(Classification.from_dict(document)))
    assert loaded["heads"][0]["scores"]["induction"] is None
    assert loaded["heads"][0]["loss_effect"] is None
    assert loaded["groups"][0]["relative"] is None
    head = loaded["heads"][1]  # finite values are untouched (fields added since may follow)
    assert _subset(head, document["heads"][1]) == document["heads"][1]


def _subset(value, like):
    """``value`` restricted to the keys ``like`` has, recursively (newer fields dropped)."""
    if isinstance(like, dict):
        return {k: _subset(value[k], v) for k, v in like.items()}
    return value


def test_markdown_has_every_head_and_its_classes(result):
    text = render_markdown(result)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()
            if re.match(r"\| \d+\.\d+ \|", line)}
    assert set(rows) == {"0.0", "0.1", "1.0", "1.1"}
    assert "previous_token ✓" in rows["0.1"]
    assert "induction ✓" in rows["1.0"]
    assert "induction ✗" in rows["1.1"] and "duplicate_token ✗" in rows["1.1"]
    assert "✓" not in rows["0.0"] and "✗" not in rows["0.0"]
    assert result.summary().splitlines()[0] in text
    # a GitHub pipe table: header, separator, then rows with the same number of cells
    table = [line for line in text.splitlines() if line.startswith("| head |")]
    assert len(table) == 1
    n_cells = table[0].count(" | ")
    assert all(line.count(" | ") >= n_cells for line in rows.values())


def test_html_is_self_contained_and_lists_every_head(result):
    from plotly.offline import get_plotlyjs

    page = render_html(result)
    assert page.count(get_plotlyjs()[:200]) == 1  # the bundle, inlined exactly once
    assert page.count("plotly.js v") == 1
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*\bhref=", page)
    outside_bundle = page.replace(get_plotlyjs(), "")
    assert "http://" not in outside_bundle and "https://" not in outside_bundle
    for label in ("0.0", "0.1", "1.0", "1.1"):
        assert f"<th>{label}</th>" in page
    for section in ("Baseline", "Summary", "Classification", "Head explorer",
                    "Ablation effects", "Group ablations", "How to read this"):
        assert f"<h2>{section}</h2>" in page
    # scores, ablation effects, loss effect, probes, distances and the explorer's pattern
    assert page.count('class="plotly-graph-div"') == 6
    # the page script is inline and fetches nothing
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", outside_bundle, flags=re.S)
    assert all("src=" not in attrs for attrs, _ in scripts)
    own = [body for attrs, body in scripts if attrs == ""][-1]
    for word in ("fetch(", "XMLHttpRequest", "import(", "WebSocket", "//cdn"):
        assert word not in own


def test_html_and_markdown_escape_the_model_name():
    page = render_html(Classification.from_dict(make_document(EVIL)))
    assert EVIL not in page
    assert "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = render_markdown(Classification.from_dict(make_document(EVIL)))
    assert text.startswith("# Attention-head census: &lt;script&gt;alert(1)&lt;/script&gt;")
    # only the fenced summary (literal text in Markdown) may hold the name verbatim
    outside_fences = re.sub(r"```text\n.*?\n```", "", text, flags=re.S)
    assert EVIL not in outside_fences


def test_same_input_gives_byte_identical_files(result, tmp_path):
    first = write_report(result, tmp_path / "a")
    second = write_report(Classification.from_dict(result.to_dict()), tmp_path / "b")
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key


def test_writing_into_a_file_raises_and_leaves_nothing(result, tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    with pytest.raises(NotADirectoryError, match="existing file"):
        write_report(result, target)
    with pytest.raises(NotADirectoryError, match="existing file"):
        write_report(result, target / "below")
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_failed_rename_leaves_no_files_and_no_new_directory(result, tmp_path, monkeypatch):
    import interp.io.output_files as output_files

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(output_files.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(result, tmp_path / "new" / "out")
    assert list(tmp_path.iterdir()) == []


def test_failed_render_writes_nothing(result, tmp_path, monkeypatch):
    import interp.report.head_report as report

    def fail(classification):
        raise RuntimeError("render failed")

    monkeypatch.setattr(report, "render_markdown", fail)
    with pytest.raises(RuntimeError, match="render failed"):
        write_report(result, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_report_without_sweep_or_groups():
    document = make_document()
    document["groups"] = []
    for h in document["heads"]:
        h["loss_effect"] = None
    c = Classification.from_dict(document)
    page, text = render_html(c), render_markdown(c)
    assert "not measured" in page
    assert "no group was ablated" in page and "no group was ablated" in text
    assert "| 0.0 |" in text and "n/a" in text


@pytest.mark.slow
def test_report_of_a_real_census(random_model, tmp_path):
    from interp.pipeline.classify import ClassifySettings, classify_heads

    result = classify_heads(random_model, ClassifySettings(min_lift=0.001, z=0.5, n_seqs=8))
    paths = write_report(result, tmp_path / "report")
    document = _strict_loads(paths["json"].read_text(encoding="utf-8"))
    assert len(document["heads"]) == 2 * 4
    assert Classification.from_dict(document).summary() == result.summary()
    page = paths["html"].read_text(encoding="utf-8")
    for h in result.heads:
        assert f"<th>{h.label}</th>" in page
    assert all(not math.isnan(h.scores["induction"]) for h in result.heads)


# ----------------------------------------------------------------------------- interactive


class _Table(HTMLParser):
    """The classification table: its sortable headers and, per row, each cell's attributes
    and text."""

    def __init__(self):
        super().__init__()
        self.headers: list[dict] = []
        self.rows: list[list[dict]] = []
        self.row_heads: list[str | None] = []  # each row's data-head
        self._in_table = False
        self._cell: dict | None = None
        self._in_body = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "heads" in (attrs.get("class") or "").split():
            self._in_table = True
        if not self._in_table:
            return
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
            self.row_heads.append(attrs.get("data-head"))
        elif tag in ("th", "td"):
            self._cell = {**attrs, "tag": tag, "text": ""}
        elif tag == "br" and self._cell is not None:
            self._cell["text"] += "\n"

    def handle_endtag(self, tag):
        if not self._in_table:
            return
        if tag in ("th", "td") and self._cell is not None:
            if self._in_body:
                self.rows[-1].append(self._cell)
            elif "data-col" in self._cell:
                self.headers.append(self._cell)
            self._cell = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def _table(page: str) -> _Table:
    parser = _Table()
    parser.feed(page)
    return parser


def _page_data(page: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="interp-data">(.*?)</script>', page, flags=re.S
    )
    assert match, "no interp-data block"
    return _strict_loads(match.group(1))


def test_page_data_holds_the_example_and_each_heads_evidence(result):
    data = _page_data(render_html(result))
    assert data["tokens"] == TOKENS
    # thousandths, divided back by the page: the recorded weights exactly
    assert data["scale"] == {label: 1000 for label in result.example["patterns"]}
    assert {label: [[v / 1000 for v in row] for row in rows]
            for label, rows in data["patterns"].items()} == result.example["patterns"]
    assert list(data["heads"]) == ["0.0", "0.1", "1.0", "1.1"]
    # the scores the explorer and the table's hover read: score, null, lift, stderr,
    # no-repeat score, classed
    assert data["behaviors"] == list(BEHAVIORS)
    assert data["scores"]["1.0"][2] == [0.85, 0.1, 0.833, 0.01, None, 1]
    assert data["first"] == "1.0"  # the confirmed induction head
    assert data["figure"] == "interp-pattern"

    def section(label, title):
        sections = dict((t, lines) for t, lines in data["heads"][label]["sections"])
        return sections[title]

    assert "OV copying 0.930" in section("1.0", "Weights")[0]
    assert section("1.0", "Weights")[1].endswith("0.1 (+0.250)")
    assert section("1.1", "Weights")[1].endswith("none among the previous_token heads")
    evidence = section("0.1", "Ablation: previous_token ✓")
    assert "confirmed by mean ablation" in evidence
    assert "receivers (later induction heads): 1.0" in evidence
    assert any(line.startswith("relative 0.400 ± 0.025") for line in evidence)  # 0.05 * 0.4 / 0.8
    assert section("1.1", "Example pattern") == ["not recorded for this head"]
    assert data["heads"]["1.0"]["title"].startswith("head 1.0 on the example sequence")


def test_page_data_cannot_break_out_of_its_script_block():
    document = make_document()
    document["heads"][2]["ablation"]["induction"]["metric"] = EVIL + "<!-- &amp;"
    page = render_html(Classification.from_dict(document))
    data = _page_data(page)
    lines = dict((t, ls) for t, ls in data["heads"]["1.0"]["sections"])["Ablation: induction ✓"]
    assert any(EVIL + "<!-- &amp;" in line for line in lines)  # read back verbatim
    block = page.split('id="interp-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block
    assert EVIL not in page


def test_explorer_lists_every_head_and_opens_on_one_with_a_pattern(result):
    page = render_html(result)
    picker = page.split('id="interp-head-select">', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<optgroup label="([^"]+)">', picker) == ["layer 0", "layer 1"]
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]*)</option>', picker)
    assert [value for value, _, _ in options] == ["0.0", "0.1", "1.0", "1.1"]
    assert [value for value, selected, _ in options if selected] == ["1.0"]
    assert options[3][2] == "1.1 — induction ✗, duplicate_token ✗ (no pattern)"
    assert 'id="interp-pattern"' in page and 'id="interp-head-detail"' in page


def test_report_without_example_has_no_pattern_figure():
    page = render_html(Classification.from_dict(make_document(example=False)))
    assert page.count('class="plotly-graph-div"') == 5
    assert 'id="interp-pattern"' not in page
    assert "No example attention pattern was recorded" in page
    data = _page_data(page)
    assert data["patterns"] == {} and data["first"] == "0.0"
    assert dict(data["heads"]["1.0"]["sections"])["Weights"] == ["not recorded"]


def test_heads_table_is_sortable_and_every_number_has_hover_text(result):
    page = render_html(result)
    table = _table(page)
    assert [r[0]["text"] for r in table.rows] == ["0.0", "0.1", "1.0", "1.1"]
    assert table.row_heads == ["0.0", "0.1", "1.0", "1.1"]  # what a row click opens
    headers = {h["text"]: h for h in table.headers if h["text"] not in ("score", "null", "lift")}
    assert set(headers) == {"head", "classes", "loss effect", "OV copying", "feeders"}
    scores = [h for h in table.headers if h["text"] == "score"]
    assert [h["data-b"] for h in scores] == list(BEHAVIORS)  # the page script's hover key
    n_cells = {len(r) for r in table.rows}
    assert len(n_cells) == 1
    assert max(int(h["data-col"]) for h in table.headers) == n_cells.pop() - 1
    assert {h["data-type"] for h in table.headers} == {"head", "text", "num"}
    # null and lift are shown on demand (class nl, hidden while the table is compact)
    assert {h["class"] for h in table.headers if h["text"] in ("null", "lift")} == {"nl"}

    def column(name):
        return [row[int(headers[name]["data-col"])] for row in table.rows]

    # numbers sort by their text (the page script reads it) ...
    assert [float(c["text"]) for c in column("loss effect")] == pytest.approx(
        [h.loss_effect for h in result.heads], abs=5e-5)
    assert [float(c["text"]) for c in column("OV copying")] == [0.01, -0.2, 0.93, 0.4]
    feeders = column("feeders")
    assert [c["text"] for c in feeders] == ["", "", "0.1 (+0.250)", "none"]
    assert feeders[2]["data-sort"] == "0.25"  # ... or by data-sort where the text is not one
    assert "data-sort" not in feeders[3]
    assert column("classes")[0]["data-sort"] == ""  # no class: sorted last
    # each behavior's score, null and lift columns, in order
    for i, behavior in enumerate(BEHAVIORS):
        cells = [row[2 + 3 * i] for row in table.rows]
        assert [float(c["text"]) for c in cells] == pytest.approx(
            [h.scores[behavior] for h in result.heads], abs=5e-4)
        assert [row[3 + 3 * i]["class"] for row in table.rows] == ["num nl"] * 4


def test_control_behaviors_get_a_score_column_only():
    document = make_document()
    for h in document["heads"]:
        for field in ("scores", "nulls", "lifts", "stderr"):
            h[field]["first_token"] = 0.5
    page = render_html(Classification.from_dict(document))
    table = _table(page)
    assert len(table.rows[0]) == 2 + 3 * len(BEHAVIORS) + 1 + 4
    assert '<th colspan="1" title="control: scored, never a class">first_<wbr>token</th>' in page
    assert "<b>Control first_token.</b> attends to BOS" in page


def test_ablation_evidence_shows_the_relative_standard_error(result):
    text = render_markdown(result)
    # relative stderr = stderr / scale = stderr * relative / effect = 0.05 * 0.4 / 0.8
    assert "relative 0.400 ± 0.025 (effect 0.8 ± 0.05)" in text


def test_markdown_and_html_escape_hostile_names(tmp_path):
    document = make_document()
    document["model"]["name"] = "![x](http://example.invalid/x.png) <img src=x> *b* |c|"
    result = Classification.from_dict(document)
    text = render_markdown(result)
    rendered = re.sub(r"```+text\n.*?\n```+", "", text, flags=re.S)  # code fences stay literal
    assert "```text\n![x](" in text  # the summary, inside a fence
    assert "![x](" not in rendered and "<img" not in rendered
    assert "\\!\\[x\\](http://example.invalid/x.png) &lt;img src=x&gt; \\*b\\* \\|c\\|" in text
    page = render_html(result)
    assert "<img src=x>" not in page and "&lt;img src=x&gt;" in page


def test_guide_states_the_recorded_thresholds():
    document = make_document()
    document["settings"].update(min_lift=0.45, z=2.5, min_effect=0.25, z_effect=1.5,
                                method="zero")
    c = Classification.from_dict(document)
    text, page = render_markdown(c), render_html(c)
    for rule in ("its lift is at least 0.45", "by more than 2.5 standard errors",
                 "(zero ablation)", "it must reach 0.25", "exceed 1.5 standard errors"):
        assert rule in text and rule in page
    del document["settings"]["z_effect"]
    assert "exceed ? standard errors" in render_markdown(Classification.from_dict(document))


def test_guide_fields_are_classifier_settings():
    from string import Formatter

    from interp.pipeline.classify import ClassifySettings
    from interp.report.head_report import _GUIDE

    fields = {name for _, text in _GUIDE for _, name, _, _ in Formatter().parse(text) if name}
    # the classifier's constants (filled in by the report) aside
    assert fields - {"shortcut_loss"} == {"min_lift", "z", "method", "min_effect", "z_effect"}
    assert fields - {"shortcut_loss"} <= set(ClassifySettings.__dataclass_fields__)


def test_report_json_has_a_schema_version_and_refuses_newer():
    document = json.loads(render_json(Classification.from_dict(make_document())))
    assert document["schema_version"] == SCHEMA_VERSION == 4
    document["schema_version"] = 99
    with pytest.raises(ValueError, match="schema_version 99 is newer"):
        Classification.from_dict(document)


def test_summary_names_the_stimuli_used_not_the_settings(planted):
    from interp import ClassifySettings, classify_heads, repeated_tokens

    stimuli = repeated_tokens(6, 12, vocab_size=24, seed=3)
    result = classify_heads(planted.model, ClassifySettings(sweep=False, probes=False),
                            stimuli=stimuli)
    assert result.settings["n_seqs"] == 32  # the settings' default, not what ran
    assert "6 sequences of [BOS] r r (L=12)" in result.summary().splitlines()[0]
    assert "6 sequences of [BOS] r r (L = 12)" in render_html(result) or \
        "6 sequences of [BOS] r r (L=12)" in render_html(result)


def test_sweep_hover_labels_are_escaped(planted):
    import interp
    from interp.report.sweep_page import checkpoint_curves

    sweep = interp.score_checkpoints([planted.model, planted.model],
                                     labels=["<b>1</b>", "<i>2</i>"], n_seqs=4, seq_len=10)
    fig = checkpoint_curves(sweep, "induction")
    labels = {cd[0] for trace in fig.data if trace.customdata is not None
              for cd in trace.customdata}
    assert labels == {"&lt;b&gt;1&lt;/b&gt;", "&lt;i&gt;2&lt;/i&gt;"}


# ------------------------------------------------------ what a researcher reads (issue 19)


def _section(page: str, anchor: str) -> str:
    return page.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]


def _with_local_window(document: dict) -> dict:
    """``document`` with a fifth behavior that no head holds (no candidate at all)."""
    for h in document["heads"]:
        for field, value in (("scores", 0.1), ("nulls", 0.1), ("lifts", 0.0),
                             ("stderr", 0.01)):
            h[field]["local_window"] = value
    return document


def test_summary_puts_confirmed_classes_first_and_no_line_where_nothing_holds():
    c = Classification.from_dict(_with_local_window(make_document()))
    lines = c.summary().splitlines()
    behaviors = [line.split(":")[0] for line in lines[2:] if not line.startswith("group")]
    # confirmed classes first (registry order), then a behavior whose candidates all failed
    assert behaviors == ["previous_token", "induction", "duplicate_token"]
    assert not any(line.startswith("local_window") for line in lines)
    summary = re.sub(r"<wbr>", "", _section(render_html(c), "summary"))
    shown, rest = summary.split('<details class="rest">', 1)
    assert "previous_token" in shown and "induction" in shown
    assert "duplicate_token" not in shown and "local_window" not in shown
    assert "duplicate_token" in rest and "no candidate head: local_window" in rest


def test_tables_scroll_in_their_box_keep_the_head_column_and_break_names_between_parts():
    document = make_document()
    page = render_html(Classification.from_dict(document))
    groups = _section(page, "groups")
    assert '<div class="table-wrap"><table class="groups">' in groups
    # a hook name wraps after its parts (':', '@', '.' before a letter), never inside one
    assert ("probe_accuracy:<wbr>occurred_before@<wbr>blocks.0.<wbr>hook_resid_post"
            in _section(page, "heads"))
    css = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "anywhere" not in css and "break-all" not in css
    assert re.search(r"table\.heads tbody th[^{]*\{[^}]*position: sticky; left: 0", css)


def test_relative_effects_outside_0_1_and_per_head_bars_say_how_to_read_them():
    document = make_document()
    document["groups"][0]["relative"] = 2.021
    head = document["heads"][0]
    head["measures"] = {"sink": 0.9}
    head["checks"] = {"sink": {
        "method": "value norm", "metric": "sink_value_norm", "clean": 7.55, "ablated": 83.6,
        "effect": -76.0, "relative": -10.07, "stderr": 0.098, "scale": 7.55,
        "status": "refuted", "confirmed": False,
        "reason": "BOS writes 83.6 per unit of attention, 11.1x a content key's 7.55 (their "
                  "5% quantile: 2.75); relative effect -10.071 < 0.636"}}
    document["measures"] = [{"name": "sink", "description": "attention-sink score (0..1).",
                             "threshold": 0.3, "label": "sink (measure)",
                             "check_claim": "no-op sink", "check": "the sink key writes "
                             "below the 5% quantile of the content keys"}]
    page = render_html(Classification.from_dict(document))
    groups = _section(page, "groups")
    cell = re.search(r'<td class="num outside"[^>]*title="([^"]*)">2.021</td>', groups)
    assert cell and "above 1: with the heads ablated the second copy became harder" in cell[1]
    for anchor in ("groups", "ablations"):
        assert "Above 1 the ablation removed more than the behavior" in _section(page, anchor)
    measures = _section(page, "measures")
    line = re.search(r'<li title="([^"]*)" class="failed">0.0 no-op sink ✗', measures)
    assert line and "0.636 is this head&#39;s own bar" in line[1]
    assert "below 0: the sink key writes more than a content key" in line[1]
    assert "where a check sets each head&#39;s own bar" in measures
    data = _page_data(page)
    panel = dict(data["heads"]["0.0"]["sections"])["Check: no-op sink ✗"]
    assert panel[-1].startswith("how to read: 0.636 is this head's own bar")


def test_measures_in_0_1_share_a_fixed_scale_and_positions_print_as_whole_numbers():
    from interp.report.plots import measure_heatmaps

    document = make_document()
    for h, sink, key in zip(document["heads"], (0.11, 0.02, 0.05, 0.08), (239.0, 0.0, 12.0, 5.0)):
        h["measures"] = {"sink": sink, "sink_key": key}
    document["measures"] = [
        {"name": "sink", "description": "attention-sink score (0..1).", "threshold": 0.3,
         "label": "sink (measure)"},
        {"name": "sink_key", "description": "the key position of the sink."}]
    c = Classification.from_dict(document)
    fig = measure_heatmaps(c)
    sink, key = fig.data
    # 0.11, the largest sink score, is a pale cell of the fixed 0..1 scale
    assert sink.coloraxis == "coloraxis"
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    assert "(* &gt; 0.3)" in fig.layout.annotations[0].text  # the threshold, in the title
    # a position has its own scale and prints as a whole number
    assert key.coloraxis == "coloraxis2" and fig.layout.coloraxis2.colorbar is not None
    assert key.text[0][0] == "239" and ".0f" in key.hovertemplate
    values = _section(render_html(c), "measures").split('<details class="values"', 1)[1]
    assert '<td class="num">239</td>' in values and "239.0" not in values


def test_explorer_shows_decoded_token_text_where_the_result_holds_it():
    from interp.report.plots import attention_pattern

    document = make_document()
    document["example"]["token_text"] = ["<s>", " def", " f", "(", " def", " f", "("]
    c = Classification.from_dict(document)
    labels = list(attention_pattern(c, "1.0").data[0].x)
    assert labels == ["0 &lt;s&gt;", "1 ␣def", "2 ␣f", "3 (", "4 ␣def", "5 ␣f", "6 ("]
    page = render_html(c)
    assert "Example sequence: <span>&lt;s&gt; def f( def f(</span>" in page
    assert not re.search(r"token \d", page.replace(get_plotlyjs_text(), ""))
    # without token text (a model with no tokenizer) the ids, marked as ids
    plain = attention_pattern(Classification.from_dict(make_document()), "1.0").data[0].x
    assert list(plain)[:2] == ["0 #0", "1 #5"]


def get_plotlyjs_text() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
