"""A tiny llama-architecture GGUF with random weights, written at test time (about 0.5 MB).

It loads in milliseconds in a real ``llama-server``. With random weights the answer depends on the
weights, not on the prompt, so a fixture that must answer in a given way is steered by its output
layer: every token embedding carries a constant in dimension ``BIAS_DIM`` and the matching column of
the output matrix adds a fixed logit bonus to chosen tokens.

* ``close_bias`` favours ``}``, ``,`` and end-of-sequence and ``quote_bias`` (larger) favours ``"``,
  so grammar-constrained generation closes strings and objects at once instead of wandering through
  string characters until ``max_tokens``. The quote must beat ``,`` and ``}``, which a string may
  also contain. ``space_bias`` (negative) keeps it from wandering through optional whitespace.
* ``prefer`` favours the given characters (smaller bonus than the quote). Under a grammar
  that offers ``"LONG"|"SHORT"|"HOLD"``, ``prefer="L"`` makes the model answer LONG, ``"S"`` SHORT
  and ``"H"`` HOLD, whatever the prompt and the seed (see ``SIGNAL_PREFER``).

Unconstrained, the model emits bytes that need not be valid UTF-8: clients must survive that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFWriter, TokenType

# Byte-level SentencePiece-style vocabulary: three specials, then one token per byte <0x00>..<0xFF>.
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
BYTE_OFFSET = 3
N_VOCAB = BYTE_OFFSET + 256

BIAS_DIM = 0
CLOSING_CHARS = "},"
SPACE_CHARS = " \t\n\r"

# First character of each grammar alternative: the whole answer follows from it.
SIGNAL_PREFER = {"LONG": "L", "SHORT": "S", "HOLD": "H"}

# A Mistral-Instruct-like template, so the server's chat endpoint renders messages as it would for
# the real model.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}[INST] {{ message['content'] }} [/INST]"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] }}</s>"
    "{% else %}{{ message['content'] }}\n\n{% endif %}"
    "{% endfor %}"
)


def byte_token_id(char: str) -> int:
    """The token id of a one-byte (ASCII) character."""
    (value,) = char.encode("ascii")
    return BYTE_OFFSET + value


def write_tiny_llama_gguf(
    path: str | Path,
    *,
    seed: int = 0,
    prefer: str = "",
    close_bias: float = 8.0,
    quote_bias: float = 12.0,
    prefer_bias: float = 4.0,
    space_bias: float = -8.0,
    n_embd: int = 64,
    n_layer: int = 2,
    n_head: int = 4,
    n_ff: int = 128,
    context_length: int = 2048,
) -> Path:
    """Write a random-weight llama GGUF to ``path`` and return the path.

    ``seed`` fixes the random weights (same seed, same file, same answers). ``prefer`` lists ASCII
    characters whose tokens get ``prefer_bias`` extra logit; ``close_bias`` goes to ``}``, ``,``
    and EOS, ``quote_bias`` to ``"``, ``space_bias`` to whitespace. Set them all to 0 for a purely
    random model. The random part of a logit has a standard deviation of about 1.
    """
    if quote_bias <= max(close_bias, prefer_bias if prefer else 0.0) and quote_bias != 0:
        # Otherwise `,`, `}` or a preferred character would beat `"` inside strings.
        raise ValueError("quote_bias must exceed close_bias and prefer_bias")
    path = Path(path)
    rng = np.random.default_rng(seed)
    head_dim = n_embd // n_head

    def normal(*shape: int, std: float) -> np.ndarray:
        return rng.normal(0.0, std, size=shape).astype(np.float32)

    token_embd = normal(N_VOCAB, n_embd, std=1.0)
    # A constant feature in every embedding survives RMS norm as a steady value at BIAS_DIM, which
    # the output column below turns into a per-token logit bonus.
    token_embd[:, BIAS_DIM] = 4.0
    output = normal(N_VOCAB, n_embd, std=0.125)
    output[:, BIAS_DIM] = 0.0
    bonus = np.zeros(N_VOCAB, dtype=np.float32)
    for char in CLOSING_CHARS:
        bonus[byte_token_id(char)] = close_bias
    bonus[EOS_ID] = close_bias
    bonus[byte_token_id('"')] = quote_bias
    for char in SPACE_CHARS:
        bonus[byte_token_id(char)] = space_bias
    for char in prefer:
        bonus[byte_token_id(char)] = prefer_bias
    # The normed hidden state is about 3.6 at BIAS_DIM (4 against unit noise in 63 dimensions).
    output[:, BIAS_DIM] = bonus / 3.6

    writer = GGUFWriter(path, "llama")
    writer.add_name(f"tiny-random-llama-seed{seed}")
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(N_VOCAB)
    writer.add_file_type(0)  # all F32

    writer.add_tokenizer_model("llama")
    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{b:02X}>".encode() for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * N_VOCAB)
    writer.add_token_types(types)
    writer.add_unk_token_id(UNK_ID)
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    writer.add_tensor("token_embd.weight", token_embd)
    for i in range(n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{i}.{name}.weight", normal(n_embd, n_embd, std=0.02))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", normal(n_ff, n_embd, std=0.02))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", normal(n_ff, n_embd, std=0.02))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", normal(n_embd, n_ff, std=0.02))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
