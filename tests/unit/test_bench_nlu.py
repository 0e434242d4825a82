"""The NLU benchmark's scoring, on small hand-made predictions (no training)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.nlu import (
    THRESHOLDS,
    Example,
    accuracy,
    choose_threshold,
    confused_pairs,
    current_threshold,
    decisions,
    entity_f1,
    load_nlu,
    macro_f1,
    markdown,
    oos_scores,
    parse_annotated,
    per_intent,
    project_files,
    score,
    stratified_folds,
    sweep,
    trained_settings,
    write_training_file,
)

ROOT = Path(__file__).resolve().parents[2]


def test_macro_f1_is_the_unweighted_mean_over_true_intents():
    true = ["a", "a", "a", "a", "b"]
    pred = ["a", "a", "a", "b", "b"]
    # a: P 1, R 0.75 -> F1 6/7; b: P 0.5, R 1 -> F1 2/3
    assert macro_f1(true, pred) == pytest.approx((6 / 7 + 2 / 3) / 2)
    assert accuracy(true, pred) == pytest.approx(0.8)
    scores = per_intent(true, pred)
    assert scores["a"] == pytest.approx({"precision": 1.0, "recall": 0.75, "f1": 6 / 7, "support": 4})
    assert scores["b"]["precision"] == pytest.approx(0.5)


def test_an_intent_never_predicted_scores_zero_and_pulls_the_macro_down():
    assert macro_f1(["a", "b"], ["a", "a"]) == pytest.approx((2 / 3 + 0) / 2)
    assert macro_f1(["a", "b"], ["a", "b"]) == 1.0


def test_entity_f1_needs_the_exact_span_and_type():
    true = [[(0, 4, "postcode")], [(10, 25, "invoice_number"), (30, 33, "amount")], []]
    pred = [[(0, 4, "postcode")], [(10, 24, "invoice_number"), (30, 33, "months")], [(1, 2, "date")]]
    scores = entity_f1(true, pred)
    assert scores["precision"] == pytest.approx(1 / 4)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert entity_f1([[]], [[]])["f1"] == 0.0


def test_out_of_scope_is_handled_when_predicted_so_or_below_the_threshold():
    true = ["out_of_scope", "out_of_scope", "out_of_scope", "check_balance", "check_balance", "greet", "greet"]
    pred = ["out_of_scope", "check_balance", "greet", "check_balance", "out_of_scope", "greet", "greet"]
    conf = [0.95, 0.40, 0.80, 0.90, 0.70, 0.45, 0.99]
    at_half = oos_scores(true, pred, conf, 0.5)
    assert at_half["oos_recall"] == pytest.approx(2 / 3)  # the first by intent, the second by confidence
    assert at_half["false_rejections"] == pytest.approx(2 / 4)  # predicted out_of_scope, and greet at 0.45
    at_low = oos_scores(true, pred, conf, 0.3)
    assert at_low["oos_recall"] == pytest.approx(1 / 3)
    assert at_low["false_rejections"] == pytest.approx(1 / 4)
    assert at_low["oos_examples"] == 3 and at_low["in_scope_examples"] == 4


def test_the_sweep_covers_0_20_to_0_90_and_rejects_more_as_the_threshold_rises():
    assert THRESHOLDS[0] == 0.20 and THRESHOLDS[-1] == 0.90 and len(THRESHOLDS) == 15
    true = ["out_of_scope"] * 4 + ["greet"] * 6
    pred = ["greet"] * 10
    conf = [0.3, 0.5, 0.7, 0.9, 0.95, 0.9, 0.85, 0.8, 0.6, 0.25]
    curve = sweep(true, pred, conf)
    recalls = [p["oos_recall"] for p in curve]
    rejections = [p["false_rejections"] for p in curve]
    assert recalls == sorted(recalls) and rejections == sorted(rejections)


def point(threshold, recall, rejections):
    return {"threshold": threshold, "oos_recall": recall, "false_rejections": rejections}


def test_the_threshold_maximises_recall_within_the_rejection_budget():
    curve = [point(0.3, 0.60, 0.00), point(0.4, 0.75, 0.01), point(0.5, 0.80, 0.03), point(0.6, 0.95, 0.08)]
    chosen = choose_threshold(curve)
    assert chosen["threshold"] == 0.5 and chosen["meets_budget"] is True


def test_equal_recall_prefers_fewer_rejections_then_the_lower_threshold():
    curve = [point(0.3, 0.8, 0.02), point(0.4, 0.8, 0.01), point(0.5, 0.8, 0.01)]
    assert choose_threshold(curve)["threshold"] == 0.4


def test_without_a_point_in_budget_the_best_trade_off_is_chosen():
    curve = [point(0.3, 0.50, 0.05), point(0.4, 0.80, 0.10), point(0.5, 0.85, 0.30)]
    chosen = choose_threshold(curve)
    assert chosen["threshold"] == 0.4 and chosen["meets_budget"] is False


def test_confused_pairs_are_counted_and_ordered():
    true = ["a", "a", "a", "b", "b", "c"]
    pred = ["b", "b", "c", "a", "b", "c"]
    assert confused_pairs(true, pred, n=2) == [
        {"true": "a", "predicted": "b", "count": 2},
        {"true": "a", "predicted": "c", "count": 1},
    ]


def test_folds_are_stratified_disjoint_complete_and_deterministic():
    labels = ["a"] * 30 + ["b"] * 12 + ["c"] * 6
    folds = stratified_folds(labels, 3)
    assert folds == stratified_folds(labels, 3)
    assert stratified_folds(labels, 3, seed=1) != folds
    tests = [index for _, test in folds for index in test]
    assert sorted(tests) == list(range(len(labels)))
    for train, test in folds:
        assert not set(train) & set(test)
        assert Counter(labels[i] for i in test) == {"a": 10, "b": 4, "c": 2}


def test_annotations_become_plain_text_and_spans():
    text, entities = parse_annotated("invoice [INV-2026-000123](invoice_number) for [€42.30](amount)")
    assert text == "invoice INV-2026-000123 for €42.30"
    assert entities == ((8, 23, "invoice_number"), (28, 34, "amount"))
    assert text[8:23] == "INV-2026-000123"
    assert parse_annotated('[Gent]{"entity": "city", "value": "Ghent"} ok') == ("Gent ok", ((0, 4, "city"),))


def test_a_training_split_keeps_its_examples_and_every_regex(tmp_path):
    examples = [Example("hi", "greet", (), "hi"), Example("postcode 9000", "inform", ((9, 13, "postcode"),),
                                                            "postcode [9000](postcode)")]
    extras = [{"regex": "postcode", "examples": "- \\b[1-9]\\d{3}\\b\n"}]
    write_training_file(tmp_path / "train.yml", examples, extras)
    again = load_nlu([tmp_path / "train.yml"])
    assert again.examples == examples
    assert again.extras == extras


def test_the_held_out_set_is_not_copied_from_the_training_data():
    training = {e.text.strip().lower() for e in load_nlu(project_files(ROOT / "data" / "nlu")).examples}
    held_out = load_nlu([ROOT / "tests" / "nlu" / "held_out.yml"]).examples
    assert not [e.text for e in held_out if e.text.strip().lower() in training]
    counts = Counter(e.intent for e in held_out)
    assert counts["out_of_scope"] >= 70 and sum(counts.values()) - counts["out_of_scope"] >= 140
    assert set(counts) == {e.intent for e in load_nlu(project_files(ROOT / "data" / "nlu")).examples}


def test_the_current_threshold_is_read_from_the_config(tmp_path):
    (tmp_path / "c.yml").write_text("pipeline:\n  - name: DIETClassifier\n  - name: FallbackClassifier\n    threshold: 0.62\n")
    assert current_threshold(tmp_path / "c.yml") == 0.62
    (tmp_path / "d.yml").write_text("pipeline:\n  - name: DIETClassifier\n")
    assert current_threshold(tmp_path / "d.yml") == 0.3


def test_the_paired_comparison_counts_discordant_examples_and_tests_them():
    from bench.nlu import paired

    true = ["a"] * 10
    first = ["a"] * 2 + ["b"] * 8
    second = ["a"] * 10
    result = paired(true, first, second)
    assert result["only_first_right"] == 0 and result["only_second_right"] == 8
    assert result["p_value"] == pytest.approx(2 / 2 ** 8)
    assert paired(["a"], ["a"], ["a"])["p_value"] == 1.0


def test_the_report_lists_precision_and_recall_of_every_intent_weakest_first():
    rows = [{"intent": true, "pred_intent": pred, "confidence": 0.9, "entities": [], "pred_entities": [], "ms": 5.0}
            for true, pred in [("greet", "greet"), ("greet", "greet"), ("thank", "greet"), ("thank", "thank"),
                               ("out_of_scope", "out_of_scope")]]
    cv = score(rows)
    true, pred = [r["intent"] for r in rows], [r["pred_intent"] for r in rows]
    entry = {"cv": cv, "at_current": oos_scores(true, pred, [0.9] * 5, 0.3),
             "cv_decisions": decisions(true, pred, [0.9] * 5, 0.3),
             "tuned": {**choose_threshold(cv["curve"])}, "train_seconds_mean": 1.0, "confusion_png": "c.png"}
    figures = {"folds": 3, "folds_scored": [1], "examples": 5, "examples_scored": 5, "configs": {"config": entry},
               "threshold_png": "t.png"}
    lines = markdown(figures).splitlines()
    table = lines[lines.index("### Per intent, `config` (cross-validated)") + 4:]
    assert table[:3] == ["| thank | 1.00 | 0.50 | 0.67 | 2 |", "| greet | 0.67 | 1.00 | 0.80 | 2 |",
                         "| out_of_scope | 1.00 | 1.00 | 1.00 | 1 |"]


def test_a_rasa_json_test_file_reads_like_the_same_examples_in_yaml(tmp_path):
    (tmp_path / "t.yml").write_text('version: "3.1"\nnlu:\n- intent: pay_bill\n  examples: |\n'
                                    '    - pay [€40](amount) on invoice [INV-1](invoice_number)\n    - pay now\n')
    (tmp_path / "t.json").write_text(
        '{"rasa_nlu_data": {"common_examples": ['
        '{"text": "pay €40 on invoice INV-1", "intent": "pay_bill", "entities": ['
        '{"start": 19, "end": 24, "value": "INV-1", "entity": "invoice_number"},'
        '{"start": 4, "end": 7, "value": "€40", "entity": "amount"}]},'
        '{"text": "pay now", "intent": "pay_bill"}]}}')
    assert load_nlu([tmp_path / "t.json"]).examples == load_nlu([tmp_path / "t.yml"]).examples


def test_tuning_the_threshold_reuses_finished_runs_but_a_pipeline_change_does_not(tmp_path):
    base = (ROOT / "config.yml").read_text()
    retuned = tmp_path / "retuned.yml"
    retuned.write_text("# a designer's note\n" + base.replace("threshold: 0.3", "threshold: 0.4")
                       .replace("max_history: 5", "max_history: 8"))
    changed = tmp_path / "changed.yml"
    changed.write_text(base.replace("    C: 30\n", "    C: 10\n"))
    assert retuned.read_text() != base and changed.read_text() != base
    assert trained_settings(retuned) == trained_settings(ROOT / "config.yml")
    assert trained_settings(changed) != trained_settings(ROOT / "config.yml")


def test_in_scope_accuracy_counts_a_right_intent_below_the_threshold_as_not_understood():
    true = ["greet", "greet", "thank", "thank", "out_of_scope", "out_of_scope"]
    pred = ["greet", "greet", "greet", "thank", "out_of_scope", "thank"]
    confidence = [0.9, 0.2, 0.9, 0.9, 0.9, 0.9]
    figures = decisions(true, pred, confidence, threshold=0.3)
    assert figures["in_scope_accuracy"] == 0.5       # greet (0.9) and thank right; greet at 0.2 is rejected
    assert figures["false_rejections"] == 0.25       # the greet at 0.2
    assert figures["oos_recall"] == 0.5              # one of two out-of-scope messages rejected
    assert decisions(["greet"], ["greet"], [0.9], 0.3)["oos_recall"] is None  # nothing to recall: no figure


def test_each_example_knows_its_source_so_a_whole_source_can_be_left_out(tmp_path):
    (tmp_path / "ours.yml").write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hello\n')
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "clinc150.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  metadata:\n    source: clinc150\n  examples: |\n    - hi there\n')
    data = load_nlu(project_files(tmp_path))
    assert [(e.text, e.source) for e in data.examples] == [("hello", "settle"), ("hi there", "clinc150")]


def test_no_public_example_repeats_our_own_or_held_out_examples():
    ours = {e.text.casefold().strip(" .!?") for e in load_nlu(sorted((ROOT / "data" / "nlu").glob("*.yml"))
                                                               + [ROOT / "tests" / "nlu" / "held_out.yml"]).examples}
    public = load_nlu(sorted((ROOT / "data" / "nlu" / "public").glob("*.yml"))).examples
    assert public and {e.source for e in public} >= {"clinc150", "banking77"}
    assert [e.text for e in public if e.text.casefold().strip(" .!?") in ours] == []


def test_runs_scored_on_intents_alone_leave_out_only_the_entity_extractor(tmp_path):
    import yaml

    from bench.nlu import intents_only

    names = [c["name"] for c in yaml.safe_load(intents_only(ROOT / "config.yml", tmp_path).read_text())["pipeline"]]
    full = [c["name"] for c in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]]
    diet = "components.entity_extractor.OwnExamplesDIETClassifier"
    assert diet in full and diet not in names
    assert [n for n in full if n != diet] == names


# -- three languages (issue 15) ---------------------------------------------------------------------


def _nlu_file(path: Path, blocks: dict[str, list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in blocks.items():
        lines += [f"- intent: {intent}", "  examples: |", *[f"    - {e}" for e in examples]]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_example_takes_the_language_of_its_folder_or_file_name(tmp_path):
    from bench.nlu import language_of

    assert language_of(Path("data/nlu/nl/invoices.yml")) == "nl"
    assert language_of(Path("data/nlu/fr/general.yml")) == "fr"
    assert language_of(Path("data/nlu/invoices.yml")) == "en"
    assert language_of(Path("data/nlu/public/clinc150.yml")) == "en"
    assert language_of(Path("tests/nlu/held_out_nl.yml")) == "nl"
    assert language_of(Path("tests/nlu/held_out.yml")) == "en"
    dutch = _nlu_file(tmp_path / "nl" / "t.yml", {"greet": ["hallo"]})
    assert [e.language for e in load_nlu([dutch]).examples] == ["nl"]


def test_figures_are_given_for_each_language():
    from bench.nlu import decisions_by

    rows = [{"intent": t, "pred_intent": p, "confidence": c, "language": lang} for t, p, c, lang in [
        ("greet", "greet", 0.9, "en"), ("greet", "greet", 0.9, "en"),
        ("greet", "thank", 0.9, "nl"), ("greet", "greet", 0.9, "nl"), ("out_of_scope", "greet", 0.2, "nl"),
        ("greet", "greet", 0.1, "fr"), ("out_of_scope", "greet", 0.9, "fr")]]
    by = decisions_by(rows, "language", 0.3)
    assert list(by) == ["en", "nl", "fr"]
    assert by["en"]["in_scope_accuracy"] == 1.0
    assert by["nl"]["in_scope_accuracy"] == 0.5 and by["nl"]["oos_recall"] == 1.0
    assert by["fr"]["false_rejections"] == 1.0 and by["fr"]["oos_recall"] == 0.0


def test_several_held_out_files_are_scored_by_one_model_and_reported_each(tmp_path, monkeypatch):
    import bench.nlu as nlu

    train = [_nlu_file(tmp_path / "data" / "en.yml", {"greet": ["hi", "hello", "hey"], "thank": ["thanks", "thx", "ty"]}),
             _nlu_file(tmp_path / "data" / "nl" / "g.yml", {"greet": ["hallo", "dag", "hoi"], "thank": ["bedankt", "merci", "dank u"]})]
    tests = [_nlu_file(tmp_path / "held_out.yml", {"greet": ["hiya"], "thank": ["cheers"]}),
             _nlu_file(tmp_path / "held_out_nl.yml", {"greet": ["goeiedag"], "thank": ["dank je"]})]
    trained = []

    def fake_train_and_parse(config, train_examples, test_examples, extras, directory, say, reuse_only=False):
        trained.append(directory.name)
        wrong = {"dank je"}  # one Dutch miss
        return {"train_seconds": 1.0, "rows": [
            {"text": e.text, "intent": e.intent, "entities": [], "language": e.language, "pred_entities": [], "ms": 1.0,
             "pred_intent": "greet" if e.text in wrong else e.intent, "confidence": 0.9} for e in test_examples]}

    monkeypatch.setattr(nlu, "project_files", lambda directory=None: train)
    monkeypatch.setattr(nlu, "train_and_parse", fake_train_and_parse)
    monkeypatch.setattr(nlu, "confusion_png", lambda *a, **k: None)
    monkeypatch.setattr(nlu, "threshold_png", lambda *a, **k: None)
    (tmp_path / "config.yml").write_text("pipeline:\n  - name: FallbackClassifier\n    threshold: 0.3\n")
    figures, section = nlu.run_nlu(3, tests, [tmp_path / "config.yml"], say=lambda line: None)
    entry = figures["configs"]["config"]
    assert trained.count("all") == 1
    assert entry["test_by_file"][str(tests[0])]["in_scope_accuracy"] == 1.0
    assert entry["test_by_file"][str(tests[1])]["in_scope_accuracy"] == 0.5
    assert set(entry["cv_by_language"]) == {"en", "nl"}
    assert f"held-out `{tests[1]}`: in-scope accuracy / OOS recall / false rejections | 50.0 % / – / 0.0 %" in section
    assert "nl: in-scope accuracy / OOS recall / false rejections, cross-validated | 100.0 % / – / 0.0 %" in section


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_dutch_and_french_data_cover_every_intent_and_keep_apart_from_their_held_out_sets(language):
    everything = load_nlu(project_files(ROOT / "data" / "nlu")).examples
    own = [e for e in everything if e.language == language]
    assert {e.intent for e in own} == {e.intent for e in everything}
    assert len(own) >= 1000 and sum(e.intent == "out_of_scope" for e in own) >= 250
    held_out = load_nlu([ROOT / "tests" / "nlu" / f"held_out_{language}.yml"]).examples
    assert {e.language for e in held_out} == {language}
    training = {e.text.strip().lower() for e in everything}
    assert not [e.text for e in held_out if e.text.strip().lower() in training]
    assert {e.intent for e in held_out} == {e.intent for e in everything}


def test_the_english_files_hold_no_dutch_or_french_lines():
    english = [e.text.lower() for e in load_nlu(sorted((ROOT / "data" / "nlu").glob("*.yml"))).examples]
    for line in ["hallo", "bonjour", "tot ziens", "au revoir", "ja", "oui", "nee", "non", "merci", "dank u",
                 "wat is het weer morgen", "je cherche un restaurant", "c'est n'importe quoi"]:
        assert line not in english
