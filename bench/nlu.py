"""NLU benchmark: cross-validated intent and entity quality, out-of-scope handling and a data-tuned threshold,
and a leave-one-source-out score that predicts how the model does on other people's phrasing.

Every config is trained and scored on the SAME stratified folds of data/nlu (fixed seed), so the figures
compare pipelines, not luck of the split. Rasa runs in child processes (`python -m rasa train nlu`, and a
small parse script using `Agent.load`), so this module never imports Rasa: the settle package stays free
of it, and each model's memory is returned when its process ends.

Leave-one-source-out: the training data comes from several sources (our own examples, and each public
dataset under data/nlu/public, named by the `metadata: {source: ...}` of its intent blocks). Each source in
turn is left out of training and scored, on its examples whose intent the other sources still teach. Ordinary
cross-validation mixes every source into every fold and flatters the model; this score says how it does on
phrasing it has never seen, which is what an independent evaluation measures.

Languages: an example's language is its folder's (data/nlu/nl → nl, data/nlu/fr → fr, a test file named
`*_nl.yml` or `*_fr.yml` likewise, anything else en). Cross-validated figures are given per language as well
as pooled, and each held-out file (`--nlu-test` takes several) is scored on its own.

The confidence used for out-of-scope handling is the classifier's own (the top of `intent_ranking`
without `nlu_fallback`), so one run gives the figures at every threshold of the sweep.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import REPORT_DIR

SEED = 2026
NLU_DATA = Path("data/nlu")
WORK_DIR = REPORT_DIR / "nlu"
OOS = "out_of_scope"
FALLBACK = "nlu_fallback"
THRESHOLDS = [round(0.20 + 0.05 * step, 2) for step in range(15)]  # 0.20 … 0.90
MAX_FALSE_REJECTIONS = 0.03
TARGET_MACRO_F1 = 0.95
TARGET_OOS_RECALL = 0.95
TARGET_IN_SCOPE_ACCURACY = 0.95
TARGET_LOSO_IN_SCOPE_ACCURACY = 0.85
OWN_SOURCE = "settle"
LANGUAGES = ("en", "nl", "fr")

ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^):]+)(?::[^)]*)?\)|\{(?P<json>[^}]*)\})")

PARSE_SCRIPT = r"""
import asyncio, json, logging, sys, time
logging.disable(logging.WARNING)
from rasa.core.agent import Agent

async def main(model, texts_path, out_path):
    agent = Agent.load(model)
    texts = json.loads(open(texts_path, encoding="utf-8").read())
    await agent.parse_message("hello")  # warm-up: the first call builds the graph's functions
    out = []
    for text in texts:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        ms = (time.perf_counter() - started) * 1000
        ranking = [r for r in parsed.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
        top = ranking[0] if ranking else parsed["intent"]
        out.append({
            "intent": top["name"], "confidence": float(top["confidence"] or 0.0),
            "final_intent": parsed["intent"]["name"], "ms": ms,
            "entities": [[e["start"], e["end"], e["entity"]] for e in parsed.get("entities", [])],
        })
    open(out_path, "w", encoding="utf-8").write(json.dumps(out))

asyncio.run(main(*sys.argv[1:4]))
"""


@dataclass(frozen=True)
class Example:
    """One NLU example: plain text, its intent, its entities as (start, end, type), the annotated line, and
    where it comes from (our own data, or the public dataset named in its block's metadata), and its language."""

    text: str
    intent: str
    entities: tuple = ()
    raw: str = ""
    source: str = OWN_SOURCE
    language: str = "en"


@dataclass
class NluData:
    """Examples in file order, plus the regex/lookup/synonym sections every training split keeps."""

    examples: list = field(default_factory=list)
    extras: list = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- data


def parse_annotated(line: str) -> tuple[str, tuple]:
    """Plain text and (start, end, entity) spans of one Rasa-annotated example line."""
    text, entities, cursor = [], [], 0
    length = 0
    for match in ANNOTATION.finditer(line):
        before = line[cursor:match.start()]
        text.append(before)
        length += len(before)
        entity = match.group("entity")
        if entity is None:
            entity = json.loads("{" + match.group("json") + "}").get("entity", "")
        value = match.group("text")
        entities.append((length, length + len(value), entity.strip()))
        text.append(value)
        length += len(value)
        cursor = match.end()
    text.append(line[cursor:])
    return "".join(text), tuple(entities)


def _example_lines(block) -> list[str]:
    """The example lines of an `examples: |` block (or a list of `text:` items)."""
    if isinstance(block, list):
        return [item["text"] if isinstance(item, dict) else str(item) for item in block]
    lines = []
    for line in str(block).splitlines():
        line = line.strip()
        if line.startswith("- "):
            lines.append(line[2:].strip())
    return lines


def annotate(text: str, entities: tuple) -> str:
    """The Rasa-annotated line of a text with (start, end, entity) spans: "pay [€40](amount)"."""
    for start, end, entity in sorted(entities, reverse=True):
        text = f"{text[:start]}[{text[start:end]}]({entity}){text[end:]}"
    return text


def language_of(path: Path) -> str:
    """The language of a file's examples: its folder's (data/nlu/nl, data/nlu/fr) or its name's ending
    (held_out_nl.yml), else English."""
    path = Path(path)
    for language in LANGUAGES[1:]:
        if language in path.parent.parts or path.stem.endswith(f"_{language}"):
            return language
    return "en"


def load_nlu(paths: list[Path]) -> NluData:
    """Reads Rasa NLU files, YAML (`nlu:`) or JSON (`rasa_nlu_data`), into examples and the non-intent sections."""
    data = NluData()
    for path in paths:
        language = language_of(path)
        content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}  # JSON is YAML too
        if not isinstance(content, dict) or not ({"nlu", "rasa_nlu_data"} & set(content)):
            raise ValueError(f"{path} is not a Rasa NLU file: it has neither an `nlu:` list nor `rasa_nlu_data`.")
        for item in (content.get("rasa_nlu_data") or {}).get("common_examples") or []:
            entities = tuple(sorted((e["start"], e["end"], e["entity"]) for e in item.get("entities") or []))
            data.examples.append(Example(item["text"], item["intent"], entities, annotate(item["text"], entities),
                                         language=language))
        for section in content.get("nlu") or []:
            if "intent" in section:
                source = (section.get("metadata") or {}).get("source", OWN_SOURCE)
                for raw in _example_lines(section.get("examples", "")):
                    text, entities = parse_annotated(raw)
                    data.examples.append(Example(text, section["intent"], entities, raw, source, language))
            else:
                data.extras.append(section)
    return data


def project_files(directory: Path = NLU_DATA) -> list[Path]:
    """Every NLU file the model trains on: ours and, in subfolders, the public datasets'."""
    return sorted(Path(directory).rglob("*.yml"))


def write_training_file(path: Path, examples: list[Example], extras: list[dict]) -> None:
    """A Rasa YAML training file with these examples grouped by intent, plus every extra section."""
    out = ['version: "3.1"', "", "nlu:"]
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.raw or example.text)
    for intent, lines in by_intent.items():
        out += [f"- intent: {intent}", "  examples: |", *[f"    - {line}" for line in lines], ""]
    for section in extras:
        kind = next(key for key in ("regex", "lookup", "synonym") if key in section)
        out += [f"- {kind}: {section[kind]}", "  examples: |",
                *[f"    - {line}" for line in _example_lines(section.get("examples", ""))], ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def stratified_folds(labels: list[str], k: int, seed: int = SEED) -> list[tuple[list[int], list[int]]]:
    """K (train, test) index lists, stratified by label; the same labels and seed give the same folds."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(sorted(train.tolist()), sorted(test.tolist())) for train, test in splitter.split(labels, labels)]


# ------------------------------------------------------------------------------------------- scoring


def per_intent(true: list[str], pred: list[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support of every intent that occurs in `true`."""
    scores = {}
    for label in sorted(set(true)):
        tp = sum(1 for t, p in zip(true, pred) if t == label and p == label)
        predicted = sum(1 for p in pred if p == label)
        support = sum(1 for t in true if t == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return scores


def macro_f1(true: list[str], pred: list[str]) -> float:
    """Unweighted mean of the per-intent F1 over the intents in `true`."""
    scores = per_intent(true, pred)
    return sum(s["f1"] for s in scores.values()) / len(scores) if scores else 0.0


def accuracy(true: list[str], pred: list[str]) -> float:
    return sum(1 for t, p in zip(true, pred) if t == p) / len(true) if true else 0.0


def entity_f1(true: list, pred: list) -> dict:
    """Micro precision/recall/F1 of entities, a hit being the exact (start, end, type)."""
    tp = n_true = n_pred = 0
    for t, p in zip(true, pred):
        t_set, p_set = {tuple(e) for e in t}, {tuple(e) for e in p}
        tp += len(t_set & p_set)
        n_true += len(t_set)
        n_pred += len(p_set)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": n_true}


def confused_pairs(true: list[str], pred: list[str], n: int = 10) -> list[dict]:
    """The `n` most frequent (true, predicted) mistakes."""
    counts = Counter((t, p) for t, p in zip(true, pred) if t != p)
    return [{"true": t, "predicted": p, "count": c} for (t, p), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def paired(true: list[str], first: list[str], second: list[str]) -> dict:
    """Paired comparison of two configs on the same examples: who is right where the other is wrong,
    with McNemar's exact two-sided p-value (binomial on the discordant pairs)."""
    only_first = sum(1 for t, a, b in zip(true, first, second) if a == t and b != t)
    only_second = sum(1 for t, a, b in zip(true, first, second) if b == t and a != t)
    n, k = only_first + only_second, min(only_first, only_second)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0
    return {"only_first_right": only_first, "only_second_right": only_second, "p_value": p}


def rejected(intent: str, confidence: float, threshold: float) -> bool:
    """Whether the assistant would not act on this prediction: out of scope, or below the threshold."""
    return intent == OOS or confidence < threshold


def oos_scores(true: list[str], pred: list[str], confidence: list[float], threshold: float) -> dict:
    """Out-of-scope recall and the share of in-scope messages falsely rejected, at one threshold."""
    oos = [rejected(p, c, threshold) for t, p, c in zip(true, pred, confidence) if t == OOS]
    in_scope = [rejected(p, c, threshold) for t, p, c in zip(true, pred, confidence) if t != OOS]
    return {
        "threshold": threshold,
        "oos_recall": sum(oos) / len(oos) if oos else 0.0,
        "false_rejections": sum(in_scope) / len(in_scope) if in_scope else 0.0,
        "oos_examples": len(oos),
        "in_scope_examples": len(in_scope),
    }


def decisions(true: list[str], pred: list[str], confidence: list[float], threshold: float) -> dict:
    """What a customer meets at one threshold: the share of in-scope messages understood (right intent, not
    rejected), the share of out-of-scope messages rejected, and the share of in-scope messages rejected."""
    in_scope = [(t, p, c) for t, p, c in zip(true, pred, confidence) if t != OOS]
    out_of_scope = [(p, c) for t, p, c in zip(true, pred, confidence) if t == OOS]
    understood = sum(1 for t, p, c in in_scope if p == t and not rejected(p, c, threshold))
    return {
        "threshold": threshold,
        "in_scope_accuracy": understood / len(in_scope) if in_scope else None,
        "oos_recall": sum(rejected(p, c, threshold) for p, c in out_of_scope) / len(out_of_scope) if out_of_scope else None,
        "false_rejections": sum(rejected(p, c, threshold) for _, p, c in in_scope) / len(in_scope) if in_scope else None,
        "in_scope_examples": len(in_scope),
        "oos_examples": len(out_of_scope),
    }


def decisions_by(rows: list[dict], key: str, threshold: float) -> dict[str, dict]:
    """`decisions` for each value of `key` in the rows (each language, each held-out file), in first-seen order;
    rows without the key count as English."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get(key) or "en", []).append(row)
    return {name: {**decisions([r["intent"] for r in group], [r["pred_intent"] for r in group],
                               [r["confidence"] for r in group], threshold),
                   "intent_macro_f1": macro_f1([r["intent"] for r in group], [r["pred_intent"] for r in group])}
            for name, group in groups.items()}


def sweep(true: list[str], pred: list[str], confidence: list[float], thresholds=THRESHOLDS) -> list[dict]:
    return [oos_scores(true, pred, confidence, threshold) for threshold in thresholds]


def choose_threshold(curve: list[dict], max_false_rejections: float = MAX_FALSE_REJECTIONS) -> dict:
    """The point with the highest OOS recall within the false-rejection budget (ties: fewer rejections,
    then the lower threshold); when no point fits the budget, the best trade-off (recall minus rejections)."""
    within = [point for point in curve if point["false_rejections"] <= max_false_rejections + 1e-12]
    if within:
        best = max(within, key=lambda p: (p["oos_recall"], -p["false_rejections"], -p["threshold"]))
        return {**best, "meets_budget": True}
    best = max(curve, key=lambda p: (p["oos_recall"] - p["false_rejections"], -p["false_rejections"], -p["threshold"]))
    return {**best, "meets_budget": False}


def score(rows: list[dict]) -> dict:
    """All figures of one config from rows of {intent, entities, pred_intent, confidence, pred_entities, ms}."""
    true = [r["intent"] for r in rows]
    pred = [r["pred_intent"] for r in rows]
    confidence = [r["confidence"] for r in rows]
    curve = sweep(true, pred, confidence)
    return {
        "examples": len(rows),
        "intent_macro_f1": macro_f1(true, pred),
        "intent_accuracy": accuracy(true, pred),
        "entities": entity_f1([r["entities"] for r in rows], [r["pred_entities"] for r in rows]),
        "per_intent": per_intent(true, pred),
        "confused_pairs": confused_pairs(true, pred),
        "curve": curve,
        "median_ms": statistics.median(r["ms"] for r in rows) if rows else None,
    }


# ------------------------------------------------------------------------------------ running Rasa


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def _rasa_env() -> dict:
    env = dict(os.environ)
    env.update({
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RASA_MAX_CACHE_SIZE": "0",  # no shared training cache: folds must not reuse each other's components
        "RASA_CACHE_DIRECTORY": str((WORK_DIR / "cache").resolve()),
    })
    return env


def trained_settings(config: Path) -> str:
    """What of a config shapes the trained NLU model: the language and the pipeline, without the
    FallbackClassifier's thresholds (the scores apply thresholds themselves) and without comments or policies,
    so tuning the threshold or editing the policies reuses the finished runs."""
    content = yaml.safe_load(Path(config).read_text()) or {}
    pipeline = [{key: value for key, value in component.items()
                 if component.get("name") != "FallbackClassifier" or key not in ("threshold", "ambiguity_threshold")}
                for component in content.get("pipeline") or []]
    return json.dumps({"language": content.get("language"), "pipeline": pipeline}, sort_keys=True)


def intents_only(config: Path, directory: Path) -> Path:
    """The config without the parts that only find entities (a DIETClassifier with intent_classification
    false), for runs scored on intents alone: the intent decisions are the same, training is minutes shorter."""
    content = yaml.safe_load(Path(config).read_text()) or {}
    content["pipeline"] = [c for c in content.get("pipeline") or []
                           if not (c.get("name", "").endswith("DIETClassifier") and c.get("intent_classification") is False)]
    content.pop("policies", None)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def train_and_parse(config: Path, train: list[Example], test: list[Example], extras: list[dict],
                    directory: Path, say, reuse_only: bool = False) -> dict | None:
    """Trains an NLU model on `train` and parses `test` with it; reuses a finished run with the same inputs
    (with `reuse_only`, returns None instead of training)."""
    directory.mkdir(parents=True, exist_ok=True)
    train_file = directory / "train.yml"
    write_training_file(train_file, train, extras)
    texts = [example.text for example in test]
    key = _digest(trained_settings(config), train_file.read_bytes(), json.dumps(texts))
    result_file = directory / "result.json"
    if result_file.exists():
        cached = json.loads(result_file.read_text())
        if cached.get("key") == key:
            say(f"  {directory}: reusing the finished run")
            # The key covers the texts, not their labels: a corrected annotation needs no retraining.
            cached["rows"] = [{**row, "intent": ex.intent, "entities": [list(e) for e in ex.entities],
                               "language": ex.language}
                              for row, ex in zip(cached["rows"], test)]
            return cached
    if reuse_only:
        return None
    env = _rasa_env()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config), "--nlu", str(train_file),
                    "--out", str(directory), "--fixed-model-name", "model", "--quiet"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    train_seconds = time.perf_counter() - started
    (directory / "texts.json").write_text(json.dumps(texts))
    subprocess.run([sys.executable, "-c", PARSE_SCRIPT, str(directory / "model.tar.gz"), str(directory / "texts.json"),
                    str(directory / "parsed.json")], check=True, env=env, stdout=subprocess.DEVNULL)
    parsed = json.loads((directory / "parsed.json").read_text())
    rows = [{"text": ex.text, "intent": ex.intent, "entities": [list(e) for e in ex.entities], "language": ex.language,
             "pred_intent": p["intent"], "confidence": p["confidence"], "final_intent": p["final_intent"],
             "pred_entities": p["entities"], "ms": p["ms"]} for ex, p in zip(test, parsed)]
    (directory / "model.tar.gz").unlink(missing_ok=True)
    result = {"key": key, "train_seconds": train_seconds, "rows": rows}
    result_file.write_text(json.dumps(result))
    say(f"  {directory}: trained in {train_seconds:.0f} s, parsed {len(rows)} examples")
    return result


# ------------------------------------------------------------------------------------------- figures


def _name(config: Path) -> str:
    return Path(config).stem


def confusion_png(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({r["intent"] for r in rows} | {r["pred_intent"] for r in rows})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for r in rows:
        matrix[index[r["intent"]]][index[r["pred_intent"]]] += 1
    fig, ax = plt.subplots(figsize=(11, 10))
    ax.imshow([[min(v, 10) for v in row] for row in matrix], cmap="Blues")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color="white" if value > 6 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted (before fallback)")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def threshold_png(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, curve in curves.items():
        xs = [p["threshold"] for p in curve]
        line, = ax.plot(xs, [p["oos_recall"] for p in curve], marker="o", label=f"{name}: OOS recall")
        ax.plot(xs, [p["false_rejections"] for p in curve], marker="x", linestyle="--", color=line.get_color(),
                label=f"{name}: in-scope false rejections")
    ax.axhline(MAX_FALSE_REJECTIONS, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(TARGET_OOS_RECALL, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("fallback threshold")
    ax.set_ylabel("share")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("Out-of-scope handling vs threshold (cross-validated)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def current_threshold(config: Path) -> float:
    """The FallbackClassifier threshold of a config file (Rasa's default 0.3 when absent)."""
    content = yaml.safe_load(Path(config).read_text()) or {}
    for component in content.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return 0.3


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def markdown(figures: dict) -> str:
    """The report section: comparison table, threshold curve, confused pairs."""
    configs = figures["configs"]
    names = list(configs)
    out = ["## NLU", "",
           f"{figures['folds']}-fold stratified cross-validation of data/nlu ({figures['examples']} examples, seed {SEED}; "
           f"folds scored: {', '.join(map(str, figures['folds_scored']))}, {figures['examples_scored']} test examples); "
           "every config is trained and tested on the same folds. Confidence is the classifier's, before the "
           "FallbackClassifier. An out-of-scope message is handled when predicted `out_of_scope` or below the "
           f"threshold. Targets: intent macro-F1 ≥ {TARGET_MACRO_F1}; OOS recall ≥ {TARGET_OOS_RECALL:.2f} with "
           f"≤ {MAX_FALSE_REJECTIONS:.0%} in-scope false rejections.", "",
           "| | " + " | ".join(f"`{n}`" for n in names) + " |", "|---|" + "---|" * len(names)]

    def row(label, fn):
        out.append(f"| {label} | " + " | ".join(fn(configs[n]) for n in names) + " |")

    def share(value):
        return "–" if value is None else _pct(value)

    row(f"in-scope accuracy, cross-validated (target ≥ {TARGET_IN_SCOPE_ACCURACY:.0%})",
        lambda c: share(c["cv_decisions"]["in_scope_accuracy"]))
    row(f"out-of-scope recall / in-scope false rejections, cross-validated (targets ≥ {TARGET_OOS_RECALL:.0%} / "
        f"≤ {MAX_FALSE_REJECTIONS:.0%})",
        lambda c: f"{share(c['cv_decisions']['oos_recall'])} / {share(c['cv_decisions']['false_rejections'])}")
    row(f"leave-one-source-out: in-scope accuracy (target ≥ {TARGET_LOSO_IN_SCOPE_ACCURACY:.0%})",
        lambda c: share(c["loso"]["pooled"]["in_scope_accuracy"]) if "loso" in c else "–")
    row("leave-one-source-out: out-of-scope recall / false rejections",
        lambda c: f"{share(c['loso']['pooled']['oos_recall'])} / {share(c['loso']['pooled']['false_rejections'])}"
        if "loso" in c else "–")
    languages = [lang for lang in LANGUAGES if any(lang in c.get("cv_by_language", {}) for c in configs.values())]
    for lang in languages if len(languages) > 1 else []:
        row(f"{lang}: in-scope accuracy / OOS recall / false rejections, cross-validated",
            lambda c, lang=lang: (lambda d: f"{share(d['in_scope_accuracy'])} / {share(d['oos_recall'])} / "
                                            f"{share(d['false_rejections'])}")(c["cv_by_language"][lang])
            if lang in c.get("cv_by_language", {}) else "–")
    row("intent macro-F1", lambda c: f"{c['cv']['intent_macro_f1']:.3f}")
    row("intent accuracy", lambda c: f"{c['cv']['intent_accuracy']:.3f}")
    row("entity F1 (exact span + type)", lambda c: f"{c['cv']['entities']['f1']:.3f}")
    row("OOS recall / false rejections at current threshold",
        lambda c: f"{_pct(c['at_current']['oos_recall'])} / {_pct(c['at_current']['false_rejections'])} (at {c['at_current']['threshold']:.2f})")
    row("tuned threshold", lambda c: f"{c['tuned']['threshold']:.2f}" + ("" if c["tuned"]["meets_budget"] else " (budget not met)"))
    row("OOS recall / false rejections at tuned threshold",
        lambda c: f"{_pct(c['tuned']['oos_recall'])} / {_pct(c['tuned']['false_rejections'])}")
    row("median latency per message", lambda c: f"{c['cv']['median_ms']:.1f} ms")
    row("training time per fold (mean)", lambda c: f"{c['train_seconds_mean']:.0f} s")
    if any("test" in c for c in configs.values()):
        row("held-out set: intent macro-F1", lambda c: f"{c['test']['intent_macro_f1']:.3f}" if "test" in c else "–")
        row("held-out set: intent accuracy", lambda c: f"{c['test']['intent_accuracy']:.3f}" if "test" in c else "–")
        row("held-out set: in-scope accuracy at current threshold",
            lambda c: share(c["test_decisions"]["in_scope_accuracy"]) if "test" in c else "–")
        row("held-out set: OOS recall / false rej. at current",
            lambda c: f"{_pct(c['test_at_current']['oos_recall'])} / {_pct(c['test_at_current']['false_rejections'])}" if "test" in c else "–")
        row("held-out set: OOS recall / false rej. at tuned",
            lambda c: f"{_pct(c['test_at_tuned']['oos_recall'])} / {_pct(c['test_at_tuned']['false_rejections'])}" if "test" in c else "–")
        row("held-out set: entity F1", lambda c: f"{c['test']['entities']['f1']:.3f}" if "test" in c else "–")
        row("held-out set: median latency", lambda c: f"{c['test']['median_ms']:.1f} ms" if "test" in c else "–")
        files = list(dict.fromkeys(f for c in configs.values() for f in c.get("test_by_file", {})))
        for file in files if len(files) > 1 else []:
            row(f"held-out `{file}`: in-scope accuracy / OOS recall / false rejections",
                lambda c, file=file: (lambda d: f"{share(d['in_scope_accuracy'])} / {share(d['oos_recall'])} / "
                                                f"{share(d['false_rejections'])}")(c["test_by_file"][file])
                if file in c.get("test_by_file", {}) else "–")
    for name, p in (figures.get("paired") or {}).items():
        out += ["", f"Paired on the same examples: `{names[0]}` alone right {p['only_first_right']} times, "
                f"`{name}` alone right {p['only_second_right']} times (McNemar exact "
                + ("p < 0.001)." if p["p_value"] < 0.001 else f"p = {p['p_value']:.3f}).")]
    for n in names:
        if "loso" in configs[n]:
            out += ["", f"### Leave-one-source-out, `{n}` (trained without the source, scored on it at the current threshold)",
                    "", "| left out | in-scope examples | in-scope accuracy | false rejections | out-of-scope examples | out-of-scope recall |",
                    "|---|---:|---:|---:|---:|---:|"]
            for source, d in [*configs[n]["loso"]["sources"].items(), ("all, pooled", configs[n]["loso"]["pooled"])]:
                out.append(f"| {source} | {d['in_scope_examples']} | {share(d['in_scope_accuracy'])} | "
                           f"{share(d['false_rejections'])} | {d['oos_examples']} | {share(d['oos_recall'])} |")
    out += ["", "### Threshold curve (cross-validated)", "",
            "| threshold | " + " | ".join(f"`{n}` OOS recall | `{n}` false rej." for n in names) + " |",
            "|---|" + "---|---|" * len(names)]
    for i, threshold in enumerate(THRESHOLDS):
        cells = []
        for n in names:
            point = configs[n]["cv"]["curve"][i]
            cells += [_pct(point["oos_recall"]), _pct(point["false_rejections"])]
        out.append(f"| {threshold:.2f} | " + " | ".join(cells) + " |")
    out += ["", f"Plot: `{figures['threshold_png']}`.", ""]
    reference = configs[names[0]]["cv"]["per_intent"]
    out += [f"### Per intent, `{names[0]}` (cross-validated)", "", "| intent | precision | recall | F1 | examples |",
            "|---|---:|---:|---:|---:|"]
    out += [f"| {intent} | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} | {v['support']} |"
            for intent, v in sorted(reference.items(), key=lambda kv: kv[1]["f1"])]
    out.append("")
    for n in names:
        cv = configs[n]["cv"]
        out += [f"### Most confused intents, `{n}` (true → predicted, count over all folds)", ""]
        out += [f"- {p['true']} → {p['predicted']}: {p['count']}" for p in cv["confused_pairs"]] or ["- none"]
        weakest = sorted(cv["per_intent"].items(), key=lambda kv: kv[1]["f1"])[:5]
        out += ["", "Weakest intents (F1): " + ", ".join(f"{k} {v['f1']:.2f}" for k, v in weakest) + ".",
                f"Confusion matrix: `{configs[n]['confusion_png']}`.", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------- entry


def run_nlu(folds: int, nlu_test: Path | list[Path] | None, configs: list[Path], say=print, *,
            finished_only: bool = False) -> tuple[dict, str]:
    """Cross-validates every config on the same folds, tunes the threshold, scores the `nlu_test` files if given
    (one model trained on all data scores them all; each file is reported on its own, each language too).

    Runs are done in this order: the first fold of every config, then the all-data models for `nlu_test`,
    then the other folds, so an interrupted run already has a paired comparison and the held-out figures.
    With `finished_only`, nothing is trained: the figures use the folds every config has finished.
    """
    data = load_nlu(project_files())
    labels = [example.intent for example in data.examples]
    splits = stratified_folds(labels, folds)
    test_files = [Path(nlu_test)] if isinstance(nlu_test, (str, Path)) else [Path(f) for f in nlu_test or []]
    test_data = load_nlu(test_files) if test_files else None
    test_file_of = [str(f) for f in test_files for _ in load_nlu([f]).examples]
    say(f"nlu: {len(data.examples)} examples, {len(set(labels))} intents, {folds} folds, configs "
        + ", ".join(str(c) for c in configs))
    results: dict[tuple, dict | None] = {}
    sources = sorted({example.source for example in data.examples})

    def run(fold, config):
        name = _name(config)
        if str(fold).startswith("loso:"):
            source = fold.split(":", 1)[1]
            say(f"nlu: {name} without the source {source}, scored on it")
            train = [e for e in data.examples if e.source != source]
            taught = {e.intent for e in train}
            test = [e for e in data.examples if e.source == source and e.intent in taught]
            where = WORK_DIR / name / f"loso-{source}"
            results[(fold, name)] = train_and_parse(intents_only(Path(config), where), train, test, data.extras,
                                                    where, say, reuse_only=finished_only)
            return
        elif fold == "all":
            say(f"nlu: {name} on all data, to score {', '.join(map(str, test_files))}")
            train, test, where = data.examples, test_data.examples, WORK_DIR / name / "all"
        else:
            say(f"nlu: fold {fold + 1}/{folds}, {name}")
            train_idx, test_idx = splits[fold]
            train, test = [data.examples[i] for i in train_idx], [data.examples[i] for i in test_idx]
            where = WORK_DIR / name / f"k{folds}-fold{fold}"
        results[(fold, name)] = train_and_parse(Path(config), train, test, data.extras, where, say,
                                                reuse_only=finished_only)

    loso = [f"loso:{source}" for source in sources] if len(sources) > 1 else []
    order = [0] + (["all"] if test_data is not None else []) + loso + list(range(1, folds))
    for fold in order:
        for config in configs:
            run(fold, config)
    done = [f for f in range(folds) if all(results.get((f, _name(c))) for c in configs)]
    if not done:
        raise RuntimeError("nlu: no fold finished for every config")
    if len(done) < folds:
        say(f"nlu: only folds {[f + 1 for f in done]} of {folds} finished for every config; figures use those")
    figures = {"folds": folds, "folds_scored": [f + 1 for f in done], "seed": SEED, "examples": len(data.examples),
               "examples_scored": sum(len(splits[f][1]) for f in done), "configs": {},
               "threshold_png": str(REPORT_DIR / "nlu_threshold.png")}
    for config in configs:
        name = _name(config)
        rows = [row for f in done for row in results[(f, name)]["rows"]]
        seconds = [results[(f, name)]["train_seconds"] for f in done]
        cv = score(rows)
        current = current_threshold(config)
        true = [r["intent"] for r in rows]
        pred = [r["pred_intent"] for r in rows]
        conf = [r["confidence"] for r in rows]
        entry = {
            "config": str(config),
            "cv": cv,
            "cv_decisions": decisions(true, pred, conf, current),
            "cv_by_language": decisions_by(rows, "language", current),
            "at_current": oos_scores(true, pred, conf, current),
            "tuned": choose_threshold(cv["curve"]),
            "train_seconds": seconds,
            "train_seconds_mean": sum(seconds) / len(seconds),
            "confusion_png": str(REPORT_DIR / f"nlu_confusion_{name}.png"),
        }
        confusion_png(rows, Path(entry["confusion_png"]), f"{name}: folds {[f + 1 for f in done]} of {folds}")
        loso_runs = {fold.split(":", 1)[1]: results.get((fold, name)) for fold in loso}
        if loso_runs and all(loso_runs.values()):
            pooled = [row for run_ in loso_runs.values() for row in run_["rows"]]
            entry["loso"] = {
                "pooled": decisions([r["intent"] for r in pooled], [r["pred_intent"] for r in pooled],
                                    [r["confidence"] for r in pooled], current),
                "sources": {source: decisions([r["intent"] for r in run_["rows"]], [r["pred_intent"] for r in run_["rows"]],
                                              [r["confidence"] for r in run_["rows"]], current)
                            for source, run_ in loso_runs.items()},
            }
        held_out = results.get(("all", name))
        if held_out:
            t_rows = held_out["rows"]
            t_true = [r["intent"] for r in t_rows]
            t_pred = [r["pred_intent"] for r in t_rows]
            t_conf = [r["confidence"] for r in t_rows]
            entry["test"] = {**score(t_rows), "file": ", ".join(map(str, test_files))}
            entry["test_by_file"] = decisions_by([{**r, "file": f} for r, f in zip(t_rows, test_file_of)], "file", current)
            entry["test_by_language"] = decisions_by(t_rows, "language", current)
            entry["test_at_current"] = oos_scores(t_true, t_pred, t_conf, current)
            entry["test_decisions"] = decisions(t_true, t_pred, t_conf, current)
            entry["test_at_tuned"] = oos_scores(t_true, t_pred, t_conf, entry["tuned"]["threshold"])
            entry["test_train_seconds"] = held_out["train_seconds"]
        figures["configs"][name] = entry
        say(f"nlu: {name}: macro-F1 {cv['intent_macro_f1']:.3f}, entity F1 {cv['entities']['f1']:.3f}, "
            f"tuned threshold {entry['tuned']['threshold']:.2f}")
    if len(configs) > 1:
        base = _name(configs[0])
        base_rows = [row for f in done for row in results[(f, base)]["rows"]]
        figures["paired"] = {}
        for config in configs[1:]:
            other = [row for f in done for row in results[(f, _name(config))]["rows"]]
            figures["paired"][_name(config)] = paired([r["intent"] for r in base_rows],
                                                      [r["pred_intent"] for r in base_rows],
                                                      [r["pred_intent"] for r in other])
    threshold_png({n: c["cv"]["curve"] for n, c in figures["configs"].items()}, Path(figures["threshold_png"]))
    return figures, markdown(figures)


def main(argv: list[str] | None = None) -> int:
    """Runs the NLU benchmark alone, writing var/bench/nlu.json and nlu.md (for long runs in the background)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.nlu")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--nlu-test", type=Path, nargs="+", help="held-out NLU files, each scored on its own")
    parser.add_argument("--configs", type=Path, nargs="+", default=[Path("config.yml")])
    parser.add_argument("--finished-only", action="store_true", help="train nothing; report the finished folds")
    args = parser.parse_args(argv)
    say = lambda line: print(line, flush=True)  # noqa: E731
    figures, section = run_nlu(args.folds, args.nlu_test, args.configs, say, finished_only=args.finished_only)
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "nlu.json").write_text(json.dumps(figures, indent=2))
    (REPORT_DIR / "nlu.md").write_text(section)
    say(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
