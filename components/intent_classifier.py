"""Intent classifier: logistic regression on sentence embeddings, `out_of_scope` one class among the others.

Why not DIET for intents: DIET learns our own phrasing by heart and generalises badly to other people's
(issue 13: 69 % in-scope on an independent set against 92 % on our held-out file). A linear model on
pre-trained sentence embeddings, trained on our examples plus the training splits of public intent datasets,
generalises much better, and a large, varied out-of-scope class rejects what Settle does not serve
(docs/nlu-evaluation.md has the comparison). DIET stays in the pipeline for entities.

Beside the embeddings, the tf-idf of the character n-grams within words: the English MiniLM embeds short Dutch
and French messages poorly, and n-grams catch their words (afrekening, échéance) and spelling variants.

The model is stored as plain arrays (coefficients, intercepts, class names, n-gram vocabulary and idf), not a
pickle, so loading a model file never runs code.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

logger = logging.getLogger(__name__)
MODEL_FILE = "intent_classifier.npz"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SentenceIntentClassifier(IntentClassifier, GraphComponent):
    """Multinomial logistic regression over the dense sentence features of the chosen featurizers."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "featurizers": [],      # aliases of the dense featurizers to use; empty: all of them
            "C": 30.0,              # inverse regularisation strength, chosen by measurement
            "class_weight": "balanced",  # intents have 45 to 1,000 examples; each counts the same
            "max_iter": 2000,       # config.yml stops earlier: as accurate, and faster
            "character_ngrams": None,  # e.g. [2, 5]: tf-idf of character n-grams within words, beside the embeddings
            "character_weight": 1.0,   # how much the n-grams count against the embeddings
            "ranking_length": 10,
        }

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.classes = np.array([], dtype=str)
        self.coefficients = np.zeros((0, 0), dtype=np.float32)
        self.intercepts = np.zeros(0, dtype=np.float32)
        self.ngrams: TfidfVectorizer | None = None

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config.get("C", 1.0) <= 0:
            raise ValueError("SentenceIntentClassifier: C must be positive")
        ngrams = config.get("character_ngrams")
        if ngrams is not None and not (len(ngrams) == 2 and 1 <= ngrams[0] <= ngrams[1]):
            raise ValueError("SentenceIntentClassifier: character_ngrams is [shortest, longest], e.g. [2, 5]")

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        shortest, longest = self.component_config["character_ngrams"]
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(shortest, longest), lowercase=True, sublinear_tf=True,
                               min_df=1 if vocabulary else 2, vocabulary=vocabulary)

    def features(self, messages: list[Message]) -> np.ndarray | sparse.csr_matrix:
        """One row per message: its sentence features, and its character n-grams when the model has them."""
        dense = self.sentence_features(messages)
        if self.ngrams is None:
            return dense
        texts = [str(message.get(TEXT)) for message in messages]
        weighted = self.ngrams.transform(texts) * self.component_config["character_weight"]
        return sparse.hstack([sparse.csr_matrix(dense), weighted], format="csr")

    def sentence_features(self, messages: list[Message]) -> np.ndarray:
        """One row per message: its sentence features from the configured featurizers, side by side."""
        featurizers = self.component_config["featurizers"] or None
        rows = []
        for message in messages:
            _, sentence = message.get_dense_features(TEXT, featurizers)
            if sentence is None:
                raise ValueError("SentenceIntentClassifier needs dense sentence features: add a dense featurizer")
            rows.append(np.asarray(sentence.features, dtype=np.float32)[0])
        return np.stack(rows)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            logger.warning("SentenceIntentClassifier: fewer than two intents to learn; it will predict nothing")
            return self._resource
        if self.component_config["character_ngrams"]:
            self.ngrams = self._vectorizer().fit([str(e.get(TEXT)) for e in examples])
        model = LogisticRegression(C=self.component_config["C"], class_weight=self.component_config["class_weight"],
                                   max_iter=self.component_config["max_iter"])
        with warnings.catch_warnings():  # stopping before convergence is chosen (config.yml), not a fault to report
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(self.features(examples), [e.get(INTENT) for e in examples])
        self.classes = model.classes_.astype(str)
        self.coefficients = model.coef_.astype(np.float32)
        self.intercepts = model.intercept_.astype(np.float32)
        if len(self.classes) == 2:  # scikit-learn keeps one row for two classes: softmax([0, z]) is its sigmoid(z)
            self.coefficients = np.vstack([np.zeros_like(self.coefficients), self.coefficients])
            self.intercepts = np.concatenate([np.zeros_like(self.intercepts), self.intercepts])
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            ngrams = {}
            if self.ngrams is not None:
                vocabulary = self.ngrams.vocabulary_
                ngrams = {"ngram_terms": np.array(sorted(vocabulary, key=vocabulary.__getitem__)),
                          "ngram_idf": self.ngrams.idf_.astype(np.float32)}
            np.savez(directory / MODEL_FILE, classes=self.classes, coefficients=self.coefficients,
                     intercepts=self.intercepts, **ngrams)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SentenceIntentClassifier:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                stored = np.load(directory / MODEL_FILE, allow_pickle=False)
                component.classes = stored["classes"]
                component.coefficients = stored["coefficients"]
                component.intercepts = stored["intercepts"]
                if "ngram_terms" in stored.files:
                    terms = stored["ngram_terms"].tolist()
                    component.ngrams = component._vectorizer({term: i for i, term in enumerate(terms)})
                    component.ngrams.idf_ = stored["ngram_idf"].astype(np.float64)
        except (ValueError, FileNotFoundError):
            logger.debug("SentenceIntentClassifier: nothing trained in %s", resource.name)
        return component

    def probabilities(self, features: np.ndarray | sparse.csr_matrix) -> np.ndarray:
        """The softmax of the linear scores: what scikit-learn's multinomial predict_proba computes."""
        scores = np.asarray(features @ self.coefficients.T) + self.intercepts
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets `intent` and `intent_ranking` on each message with text."""
        todo = [m for m in messages if m.get(TEXT)]
        if not todo or not len(self.classes):
            return messages
        length = self.component_config["ranking_length"]
        for message, row in zip(todo, self.probabilities(self.features(todo))):
            order = np.argsort(-row)[:length] if length > 0 else np.argsort(-row)
            ranking = [{"name": str(self.classes[i]), "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
