"""Attention layers.

chapter8     WeightSum, AttentionWeight, Attention, TimeAttention: the book's chapter 8,
             and the batched attention math they share with the Transformer
transformer  ScaledDotProductAttention, MultiHeadAttention, LayerNorm, positional
             encodings, FeedForward, Residual, TransformerEncoderLayer/DecoderLayer, masks

Every name is importable from here: ``from zeronlp.attention import TimeAttention``.
"""

from .chapter8 import (
    Attention,
    AttentionWeight,
    TimeAttention,
    WeightSum,
    attention_weight_backward,
    attention_weight_forward,
    weight_sum_backward,
    weight_sum_forward,
)
from .transformer import (
    FeedForward,
    LayerNorm,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    PositionalEncoding,
    Residual,
    ScaledDotProductAttention,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    attention_mask,
    causal_mask,
    dropout_forward,
    gelu_tanh,
    gelu_tanh_backward,
    sinusoidal_positions,
)

__all__ = [
    "Attention",
    "AttentionWeight",
    "FeedForward",
    "LayerNorm",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "PositionalEncoding",
    "Residual",
    "ScaledDotProductAttention",
    "TimeAttention",
    "TransformerDecoderLayer",
    "TransformerEncoderLayer",
    "WeightSum",
    "attention_mask",
    "attention_weight_backward",
    "attention_weight_forward",
    "causal_mask",
    "dropout_forward",
    "gelu_tanh",
    "gelu_tanh_backward",
    "sinusoidal_positions",
    "weight_sum_backward",
    "weight_sum_forward",
]
