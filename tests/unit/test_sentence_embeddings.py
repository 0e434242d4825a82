"""The MiniLM featurizer: offline vectors of the right shape, meaningful distances, and a real `rasa train nlu`."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from components.sentence_embeddings import DEFAULT_TOKENIZER, DIMENSIONS, MiniLM, token_vectors

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM(DEFAULT_TOKENIZER)


def test_the_tokenizer_is_vendored_in_the_package():
    assert DEFAULT_TOKENIZER == ROOT / "settle" / "data" / "minilm_tokenizer.json"
    assert DEFAULT_TOKENIZER.stat().st_size > 400_000


def test_sentence_vectors_are_384_dims_and_normalised(minilm):
    vectors = minilm.sentence_vectors(["how much do I owe?", "INV-2026-000123", "x"])
    assert vectors.shape == (3, DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_sentences_are_closer_than_unrelated_ones(minilm):
    owe, balance, pay, weather = minilm.sentence_vectors([
        "how much money do I still owe you",
        "what is the outstanding balance on my account",
        "I want to pay my electricity bill",
        "will it rain in Ghent tomorrow",
    ])
    assert owe @ balance > owe @ weather
    assert pay @ owe > pay @ weather


def test_the_same_text_gives_the_same_vector_alone_or_in_a_padded_batch(minilm):
    alone = minilm.sentence_vectors(["pay"])[0]
    batched = minilm.sentence_vectors(["pay", "a much longer message that forces padding of the first one"])[0]
    np.testing.assert_allclose(alone, batched, atol=1e-4)


def test_token_vectors_average_the_word_pieces_inside_each_span():
    hidden = np.array([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [3.0, 4.0], [9.0, 9.0]], dtype=np.float32)
    offsets = [None, (0, 3), (3, 6), (7, 9), None]  # [CLS] "inv" "oice" "is" [SEP]
    vectors = token_vectors(hidden, offsets, [(0, 6), (7, 9), (10, 12)])
    np.testing.assert_allclose(vectors[0], [2 ** -0.5, 2 ** -0.5], atol=1e-6)
    np.testing.assert_allclose(vectors[1], [0.6, 0.8], atol=1e-6)
    np.testing.assert_allclose(vectors[2], [0.0, 0.0])  # a span with no piece stays zero


def test_the_featurizer_trains_inside_rasa_nlu_offline(tmp_path):
    """A tiny `rasa train nlu` (DIET, 1 epoch, eager: no graph compilation) with the featurizer, offline.

    The timeout only stops a hang (a download attempt would wait on the closed network); speed is `make bench`'s."""
    (tmp_path / "config.yml").write_text(textwrap.dedent("""\
        recipe: default.v1
        language: en
        assistant_id: test
        pipeline:
          - name: WhitespaceTokenizer
          - name: components.sentence_embeddings.SentenceEmbeddingFeaturizer
          - name: DIETClassifier
            epochs: 1
            run_eagerly: true
        policies: []
        """))
    (tmp_path / "nlu.yml").write_text(textwrap.dedent("""\
        version: "3.1"
        nlu:
        - intent: check_balance
          examples: |
            - how much do I owe
            - what's my balance
            - balance for [50000342](customer_number)
        - intent: greet
          examples: |
            - hello
            - hi there
            - good morning
        """))
    # The training does not depend on the date; TensorFlow's training hangs under libfaketime (the suite is also run
    # with the date moved), so the child runs on the real clock.
    real_clock = {name: value for name, value in os.environ.items() if name not in ("LD_PRELOAD", "FAKETIME")}
    env = {**real_clock, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RASA_TELEMETRY_ENABLED": "false",
           "RASA_MAX_CACHE_SIZE": "0", "RASA_CACHE_DIRECTORY": str(tmp_path / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--config", str(tmp_path / "config.yml"),
                    "--nlu", str(tmp_path / "nlu.yml"), "--out", str(tmp_path / "models"),
                    "--fixed-model-name", "tiny", "--quiet"],
                   cwd=ROOT, env=env, check=True, timeout=600, capture_output=True)
    with tarfile.open(tmp_path / "models" / "tiny.tar.gz") as model:
        metadata = next(m for m in model.getmembers() if m.name.lstrip("./") == "metadata.json")
        graph = model.extractfile(metadata).read().decode()
    assert "components.sentence_embeddings.SentenceEmbeddingFeaturizer" in graph
