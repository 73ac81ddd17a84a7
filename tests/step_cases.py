"""Small models and batches shared by the sync tests (fake CuPy) and the GPU tests."""

import numpy as np


def model_cases(dropout_ratio=0.5):
    """{name: (make() -> model, x, t)}: every model with a batch it trains on (NumPy)."""
    from zeronlp import models

    V = 13
    corpus = np.arange(60) % V
    lm_x = np.arange(12).reshape(2, 6) % V
    s2s_x, s2s_t = np.arange(10).reshape(2, 5) % V, (np.arange(12).reshape(2, 6) + 3) % V
    contexts, target = np.stack([corpus[:8], corpus[2:10]], axis=1), corpus[1:9]
    tiny = dict(d_model=8, num_heads=2, d_ff=16, max_len=8, dropout_ratio=dropout_ratio)
    return {
        "SimpleRnnlm": (lambda: models.SimpleRnnlm(V, 4, 5), lm_x, (lm_x + 1) % V),
        "Rnnlm": (lambda: models.Rnnlm(V, 4, 5), lm_x, (lm_x + 1) % V),
        "BetterRnnlm": (lambda: models.BetterRnnlm(V, 6, 6, dropout_ratio), lm_x, (lm_x + 1) % V),
        "TransformerLM": (
            lambda: models.TransformerLM(V, **tiny),
            lm_x,
            (lm_x + 1) % V,
        ),
        "Seq2seq": (lambda: models.Seq2seq(V, 4, 5), s2s_x, s2s_t),
        "PeekySeq2seq": (lambda: models.PeekySeq2seq(V, 4, 5), s2s_x, s2s_t),
        "AttentionSeq2seq": (lambda: models.AttentionSeq2seq(V, 4, 5), s2s_x, s2s_t),
        "TransformerSeq2seq": (
            lambda: models.TransformerSeq2seq(V, **tiny),
            s2s_x,
            s2s_t,
        ),
        "CBOW": (lambda: models.CBOW(V, 4, 1, corpus), contexts, target),
        "SkipGram": (lambda: models.SkipGram(V, 4, 1, corpus), contexts, target),
    }


def train_step(model, x, t, optimizer):
    """forward, backward, clipping and update: what a trainer runs per batch; the loss."""
    from zeronlp.optimizers import clip_grads

    loss = model.forward(x, t)
    model.backward()
    clip_grads(model.grads, 0.5)
    optimizer.update(model.params, model.grads)
    return loss


# every model's training step: none reads a device value on the host, apart from the loss
STEP_MODELS = sorted(model_cases())
