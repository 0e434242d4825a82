"""DIET for entities, trained on our own examples only.

Why: intents are classified by components/intent_classifier.py; DIET here only finds entities (customer
numbers, postcodes, dates, months, amounts, invoice numbers). The public datasets under data/nlu/public carry
no entity annotations and almost double the examples, so training DIET on them would double its training time
and teach it nothing. Their intent blocks say where they come from (`metadata: {source: ...}`); this
subclass leaves those out of DIET's training, and only of DIET's.
"""
from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import METADATA, METADATA_INTENT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def from_public_dataset(message: Message) -> bool:
    """Whether an example comes from an imported dataset (its intent block names a source)."""
    intent_metadata = (message.get(METADATA) or {}).get(METADATA_INTENT) or {}
    return isinstance(intent_metadata, dict) and "source" in intent_metadata


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class OwnExamplesDIETClassifier(DIETClassifier):
    """DIETClassifier that trains on the examples without a `source` (ours), for entities."""

    def train(self, training_data: TrainingData) -> Resource:
        own = TrainingData([m for m in training_data.training_examples if not from_public_dataset(m)],
                           entity_synonyms=training_data.entity_synonyms,
                           regex_features=training_data.regex_features,
                           lookup_tables=training_data.lookup_tables)
        return super().train(own)
