"""The causal-LM label scorer (one prompt pass with a KV cache, logits only where needed) gives the
numbers of the plain definition: each prompt + label sequence on its own, summed log-probabilities
of the label tokens."""

from __future__ import annotations

import pytest

from tunewise.data.bundled import sample_rows

pytestmark = pytest.mark.slow


def test_cached_scorer_equals_one_sequence_at_a_time() -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from tunewise.pilot import models
    from tunewise.pilot import train_causal as TCa

    path = models.resolve("smollm2").path
    tok = TCa.load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    end = TCa.end_text(tok)
    labels = ["business", "entertainment", "politics", "sport", "tech"]  # 1- and multi-token labels
    texts = [r["text"][:400] for r in sample_rows("bbc-news", limit=5, seed=2)] + \
            [r["text"] for r in sample_rows("rotten-tomatoes", limit=4, seed=2)]
    prompts = [TCa.render(tok, TCa.classification_messages(t, labels, None, [])) for t in texts]
    got = TCa.score_labels(model, tok, prompts, labels, end, batch_size=4)

    want = torch.zeros(len(prompts), len(labels), dtype=torch.float64)
    with torch.inference_mode():
        for i, p in enumerate(prompts):
            p_ids = tok(p, add_special_tokens=False)["input_ids"]
            for j, lab in enumerate(labels):
                c_ids = tok(lab + end, add_special_tokens=False)["input_ids"]
                ids = torch.tensor([p_ids + c_ids])
                logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
                want[i, j] = sum(float(logp[len(p_ids) - 1 + t, c]) for t, c in enumerate(c_ids))
    assert got.shape == (len(prompts), len(labels))
    assert got == pytest.approx(want.numpy(), abs=2e-3)
    assert (got.argmax(axis=1) == want.numpy().argmax(axis=1)).all()
