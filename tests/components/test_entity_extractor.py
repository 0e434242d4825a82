"""The entity extractor learns from our examples with entities and a bounded, repeatable share of the others."""
from __future__ import annotations

from rasa.shared.nlu.constants import ENTITIES, INTENT, METADATA, METADATA_INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.entity_extractor import entity_training_examples


def example(text: str, entities: list | None = None, source: str | None = None) -> Message:
    data = {TEXT: text, INTENT: "inform", ENTITIES: entities or []}
    if source:
        data[METADATA] = {METADATA_INTENT: {"source": source}}
    return Message(data=data)


def test_every_own_example_with_entities_and_at_most_the_cap_of_the_others():
    amount = [{"start": 7, "end": 10, "value": "€50", "entity": "amount"}]
    with_entities = [example(f"pay me €5{n}", amount) for n in range(10)]
    without = [example(f"hello number {n}") for n in range(50)]
    public = [example(f"public {n}", source="clinc150") for n in range(50)]

    chosen = entity_training_examples(with_entities + without + public, without_entities=20)

    texts = {m.get(TEXT) for m in chosen}
    assert {m.get(TEXT) for m in with_entities} <= texts
    assert len(chosen) == 30
    assert not any(text.startswith("public") for text in texts)


def test_the_same_data_gives_the_same_choice_whatever_its_order():
    without = [example(f"question {n}") for n in range(40)]
    first = {m.get(TEXT) for m in entity_training_examples(without, without_entities=10)}
    again = {m.get(TEXT) for m in entity_training_examples(list(reversed(without)), without_entities=10)}
    assert first == again and len(first) == 10
