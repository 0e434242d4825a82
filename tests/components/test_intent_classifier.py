"""The intent classifier learns from sentence embeddings and, when configured, character n-grams, and a model
loaded from disk answers exactly as the one that was trained."""
from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.intent_classifier import SentenceIntentClassifier

#: Dutch and French ways of asking two things, with the same (useless) embedding: only the words tell them apart.
EXAMPLES = {
    "check_balance": ["hoeveel moet ik betalen", "hoeveel staat er open", "combien je dois", "combien reste à payer",
                      "hoeveel is mijn saldo", "combien dois-je encore"],
    "request_human": ["ik wil met iemand praten", "mag ik een medewerker", "je veux parler à quelqu'un",
                      "un conseiller svp", "met een mens praten", "parler à un humain"],
}


def message(text: str, intent: str | None = None) -> Message:
    found = Message(data={TEXT: text, **({INTENT: intent} if intent else {})})
    found.add_features(Features(np.ones((1, 4), dtype=np.float32), FEATURE_TYPE_SENTENCE, TEXT, "minilm"))
    return found


def trained(tmp_path, **config) -> tuple[SentenceIntentClassifier, LocalModelStorage, Resource]:
    storage, resource = LocalModelStorage(tmp_path), Resource("intents")
    classifier = SentenceIntentClassifier.create({**SentenceIntentClassifier.get_default_config(), **config},
                                                 storage, resource, ExecutionContext(None))
    data = TrainingData([message(text, intent) for intent, texts in EXAMPLES.items() for text in texts])
    classifier.train(data)
    return classifier, storage, resource


def predicted(classifier: SentenceIntentClassifier, text: str) -> dict:
    return classifier.process([message(text)])[0].get(INTENT)


def test_character_ngrams_tell_apart_what_the_embeddings_cannot(tmp_path):
    classifier, _, _ = trained(tmp_path, character_ngrams=[2, 5])
    assert predicted(classifier, "hoeveel moet ik nog betalen?")["name"] == "check_balance"
    assert predicted(classifier, "parler à un conseiller")["name"] == "request_human"


def test_without_ngrams_the_same_embedding_gets_the_same_answer(tmp_path):
    classifier, _, _ = trained(tmp_path)
    first, second = predicted(classifier, "hoeveel moet ik betalen"), predicted(classifier, "je veux parler à quelqu'un")
    assert first == second


def test_a_loaded_model_answers_as_the_trained_one(tmp_path):
    classifier, storage, resource = trained(tmp_path, character_ngrams=[2, 5])
    loaded = SentenceIntentClassifier.load({**SentenceIntentClassifier.get_default_config(), "character_ngrams": [2, 5]},
                                           storage, resource, ExecutionContext(None))
    for text in ["combien je dois encore payer", "ik wil iemand spreken", "something else entirely"]:
        assert predicted(loaded, text) == pytest.approx(predicted(classifier, text))


def test_ngrams_must_be_a_range():
    with pytest.raises(ValueError, match="character_ngrams"):
        SentenceIntentClassifier.validate_config({"character_ngrams": [5, 2]})
