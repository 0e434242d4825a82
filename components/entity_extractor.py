"""DIET for entities, trained on our own examples only, and on a bounded share of those without entities.

Why: intents are classified by components/intent_classifier.py; DIET here only finds entities (customer
numbers, postcodes, dates, months, amounts, invoice numbers). The public datasets under data/nlu/public carry
no entity annotations and almost double the examples, so training DIET on them would double its training time
and teach it nothing. Their intent blocks say where they come from (`metadata: {source: ...}`); this
subclass leaves those out of DIET's training, and only of DIET's.

Our own examples grow with every language (English, Dutch, French), most of them without entities. DIET's
training time grows with its examples, so it learns from every example that has entities and from at most
`examples_without_entities` of the others (enough to learn what is not an entity), picked by a stable hash of
their text so that two trainings on the same data learn from the same examples.
"""
from __future__ import annotations

import hashlib
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import ENTITIES, METADATA, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def from_public_dataset(message: Message) -> bool:
    """Whether an example comes from an imported dataset (its intent block names a source)."""
    intent_metadata = (message.get(METADATA) or {}).get(METADATA_INTENT) or {}
    return isinstance(intent_metadata, dict) and "source" in intent_metadata


def _stable_rank(message: Message) -> str:
    return hashlib.sha256(str(message.get(TEXT) or "").encode()).hexdigest()


def entity_training_examples(examples: list[Message], without_entities: int) -> list[Message]:
    """Our own examples that have entities, and the first `without_entities` of the others in a stable order."""
    own = [m for m in examples if not from_public_dataset(m)]
    with_entities = [m for m in own if m.get(ENTITIES)]
    others = sorted((m for m in own if not m.get(ENTITIES)), key=_stable_rank)[:without_entities]
    return with_entities + others


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class OwnExamplesDIETClassifier(DIETClassifier):
    """DIETClassifier that trains, for entities, on our examples with entities and a sample of the others."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DIETClassifier.get_default_config(), "examples_without_entities": 600}

    def train(self, training_data: TrainingData) -> Resource:
        chosen = entity_training_examples(training_data.training_examples,
                                          int(self.component_config["examples_without_entities"]))
        return super().train(TrainingData(chosen,
                                          entity_synonyms=training_data.entity_synonyms,
                                          regex_features=training_data.regex_features,
                                          lookup_tables=training_data.lookup_tables))
