#!/usr/bin/python3
"""model_peer.py: the Python peer of the c2s model benchmark.

A plain, eager PyTorch implementation of what Hugging Face `transformers` (v4.44) computes
for GPTNeoXForCausalLM, Gemma2ForCausalLM and GPT2LMHeadModel (the forward pass and greedy
`generate()` with a key/value cache), reading a Hugging Face model folder directly. It needs
only torch and numpy (Debian's python3-torch and python3-numpy): `transformers` and
`safetensors` are not packaged in Debian, so the config and the weights are read by hand.

It is written the way `transformers` computes it eagerly (the "eager" attention, not SDPA):
nn.functional ops, a key/value cache grown with torch.cat at every step (like DynamicCache),
4-D additive float masks holding the dtype's minimum at masked places, and each model's own
rules on which dtype its scores and softmax are computed in. Nothing here is tuned.

Commands (run from the repository root):

  bench/model_peer.py check --golden ../shared/golden/models/neox-tiny
      Recomputes the expected values in golden.json in float32 (last-position logits,
      per-position argmax/logsumexp, greedy continuation with the cache, hidden_mean, the
      left-padded batch and its batched greedy continuation), prints a JSON summary, and
      exits 1 if a logit differs by more than 1e-4 or any argmax/greedy token differs.
      This is what validates the peer.

  bench/model_peer.py forward --model DIR --ids 5,17,42
      One forward pass in float32; prints {"argmax": [...], "last_logits": [...]} as
      `c2s forward --json` does (the test that c2s's saved folders load here uses it).

  bench/model_peer.py bench --model DIR --dtype fp32|bf16 --threads 2 \\
      --prompt-ids prompts.json --batch 16 --new-tokens 16
      prompts.json is a JSON list of token-id lists; the first BATCH rows are used (cycling
      through the list if it is shorter), left-padded to the longest. Times the prefill
      (forward over the prompts building the cache, plus choosing the first token) and the
      decode (the remaining new tokens, greedy, not stopping at EOS) and prints one JSON object.
      With --shared-prompt every row is the first prompt, prefilled once at batch 1 and its
      cache copied to the rows, as c2s does for a prefix its prompts share.
"""
import argparse
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


# ----------------------------------------------------------------------------------------------
# Reading a Hugging Face folder: config.json and safetensors files
# ----------------------------------------------------------------------------------------------

# safetensors dtype -> (numpy dtype the raw bytes are read as, torch dtype they really are)
SAFETENSORS_DTYPES = {
    "F32": (np.float32, torch.float32),
    "F16": (np.float16, torch.float16),
    "BF16": (np.int16, torch.bfloat16),  # numpy has no bfloat16: read as int16, view in torch
    "F64": (np.float64, torch.float64),
    "I64": (np.int64, torch.int64),
    "I32": (np.int32, torch.int32),
    "U8": (np.uint8, torch.uint8),
    "BOOL": (np.bool_, torch.bool),
}

# Non-learned buffers that some checkpoints carry (the original Pythia and gpt2 files) and
# that transformers does not load either: the causal-mask buffers and the rotary frequencies.
IGNORED_BUFFERS = re.compile(r"(\.attention\.(bias|masked_bias)|\.attn\.(bias|masked_bias)"
                             r"|\.rotary_emb\.inv_freq)$")


def safetensors_files(folder):
    """The weight files of a folder: model.safetensors, or the shards its index names."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        return [os.path.join(folder, name) for name in sorted(set(weight_map.values()))]
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        return [single]
    sys.exit(f"{folder}: no model.safetensors and no model.safetensors.index.json")


def read_safetensors(path, dtype):
    """{name: tensor} for one safetensors file, floating tensors converted to `dtype`.

    Layout: 8-byte little-endian header length N, N bytes of JSON header
    ({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}),
    then the raw little-endian data, offsets counted from the end of the header.
    Each tensor is read into memory it owns (not memory-mapped), so the resident set
    afterwards is the converted weights only.
    """
    assert sys.byteorder == "little"
    tensors = {}
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
        data_start = 8 + header_len
        for name, info in header.items():
            if name == "__metadata__" or IGNORED_BUFFERS.search(name):
                continue
            np_dtype, torch_dtype = SAFETENSORS_DTYPES[info["dtype"]]
            begin, end = info["data_offsets"]
            raw = bytearray(end - begin)
            f.seek(data_start + begin)
            if f.readinto(raw) != len(raw):
                sys.exit(f"{path}: {name} runs past the end of the file")
            tensor = torch.from_numpy(np.frombuffer(raw, dtype=np_dtype))
            tensor = tensor.view(torch_dtype).reshape(info["shape"])
            if tensor.is_floating_point():
                tensor = tensor.to(dtype)  # converted once, here; a no-op when already `dtype`
            tensors[name] = tensor
    return tensors


def load_folder(folder, dtype):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    weights = {}
    for path in safetensors_files(folder):
        weights.update(read_safetensors(path, dtype))
    return config, weights


# ----------------------------------------------------------------------------------------------
# Pieces shared by the three architectures
# ----------------------------------------------------------------------------------------------

def gelu_new(x):
    """transformers' NewGELUActivation ("gelu_new", GPT-2): the tanh form written out."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {
    "gelu": F.gelu,                                             # exact (erf)
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
}


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rotary_cos_sin(position_ids, dim, base):
    """cos and sin [batch, seq, dim] in float32 for rotate-half rotary embeddings.

    inv_freq = 1 / base^(2i/dim); angle = position * inv_freq, duplicated for both halves.
    (GPT-NeoX tabulates torch.outer(arange, inv_freq) and indexes it by position; Gemma-2
    multiplies inv_freq by the float positions: both are the same single float32 product.)
    """
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    freqs = position_ids[..., None].float() * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rotary(x, cos, sin):
    """x [batch, heads, seq, dim]; cos/sin [batch, seq, dim]."""
    cos = cos.unsqueeze(1)
    sin = sin.unsqueeze(1)
    return (x * cos) + (rotate_half(x) * sin)


def causal_padding_mask(attention_mask, query_len, dtype):
    """4-D additive mask [batch, 1, query_len, key_len]: 0 where a query may look, the dtype's
    minimum where it may not (a later key, or a padded key). This is what transformers'
    _prepare_4d_causal_attention_mask (GPT-NeoX) and Gemma-2's _update_causal_mask build.

    attention_mask [batch, key_len] holds 1 for real tokens and 0 for padding, over the cached
    keys followed by the new ones; the queries are the last query_len keys.
    """
    key_len = attention_mask.shape[-1]
    minimum = torch.finfo(dtype).min
    query_pos = torch.arange(key_len - query_len, key_len)[:, None]
    later = torch.arange(key_len)[None, :] > query_pos                      # [q, k]
    padded = attention_mask[:, None, None, :] == 0                          # [b, 1, 1, k]
    masked = later[None, None, :, :] | padded
    return torch.zeros(masked.shape, dtype=dtype).masked_fill(masked, minimum)


def causal_bool(query_len, key_len):
    """The lower-triangular bool "bias" buffer of GPT-NeoX and GPT-2, sliced the way they
    slice it: [1, 1, query_len, key_len], True where the query may look."""
    full = torch.tril(torch.ones((key_len, key_len), dtype=torch.bool))
    return full[key_len - query_len: key_len, :key_len].view(1, 1, query_len, key_len)


def position_ids_from_mask(attention_mask):
    """generate()'s position ids for left padding: cumsum(mask) - 1, with 1 at padded places."""
    position_ids = attention_mask.long().cumsum(-1) - 1
    return position_ids.masked_fill(attention_mask == 0, 1)


def cache_append(layer_cache, key, value):
    """Grow a layer's cache along the sequence dimension with torch.cat (DynamicCache)."""
    if layer_cache is not None:
        key = torch.cat((layer_cache[0], key), dim=-2)
        value = torch.cat((layer_cache[1], value), dim=-2)
    return key, value


class Output:
    """What a forward pass returns: logits [batch, positions, vocab] (every position, or only
    the last), the last hidden state after the final norm and before it, and the cache."""

    def __init__(self, logits, hidden, pre_norm, cache):
        self.logits, self.hidden, self.pre_norm, self.cache = logits, hidden, pre_norm, cache


def take_weights(weights, prefix):
    """Pop every tensor whose name starts with prefix, returned without the prefix."""
    names = [n for n in weights if n.startswith(prefix)]
    return {n[len(prefix):]: weights.pop(n) for n in names}


# ----------------------------------------------------------------------------------------------
# GPT-NeoX (Pythia): GPTNeoXForCausalLM
# ----------------------------------------------------------------------------------------------

class GPTNeoX:
    def __init__(self, config, weights, dtype):
        self.dtype = dtype
        self.hidden_size = config["hidden_size"]
        self.num_heads = config["num_attention_heads"]
        self.head_size = self.hidden_size // self.num_heads
        self.rotary_ndims = int(self.head_size * config.get("rotary_pct", 0.25))
        self.rotary_base = config.get("rotary_emb_base", 10000)
        self.eps = config.get("layer_norm_eps", 1e-5)
        self.parallel_residual = config.get("use_parallel_residual", True)
        self.act = ACTIVATIONS[config.get("hidden_act", "gelu")]
        self.norm_factor = self.head_size ** -0.5
        if config.get("rope_scaling") is not None:
            sys.exit("gpt_neox: rope_scaling is not supported by the peer")
        self.embed_in = weights.pop("gpt_neox.embed_in.weight")
        self.layers = [take_weights(weights, f"gpt_neox.layers.{i}.")
                       for i in range(config["num_hidden_layers"])]
        self.final_norm = take_weights(weights, "gpt_neox.final_layer_norm.")
        if config.get("tie_word_embeddings", False):
            weights.pop("embed_out.weight", None)
            self.embed_out = self.embed_in
        else:
            self.embed_out = weights.pop("embed_out.weight")

    def attention(self, w, x, cos, sin, mask, layer_cache):
        batch, seq, _ = x.shape
        qkv = F.linear(x, w["attention.query_key_value.weight"], w.get("attention.query_key_value.bias"))
        # [batch, seq, heads, 3 * head_size]: q, k, v follow each other inside each head
        qkv = qkv.view(batch, seq, self.num_heads, 3 * self.head_size)
        hs = self.head_size
        query = qkv[..., :hs].permute(0, 2, 1, 3)
        key = qkv[..., hs: 2 * hs].permute(0, 2, 1, 3)
        value = qkv[..., 2 * hs:].permute(0, 2, 1, 3)

        # Rotary on the first rotary_ndims dims. transformers' GPT-NeoX keeps its cos/sin
        # tables in float32 and does not cast them, so with bf16 weights the rotated part,
        # and after torch.cat the whole query and key, are float32 (type promotion); the
        # scores and the softmax are therefore computed in float32, the values stay bf16.
        r = self.rotary_ndims
        query = torch.cat((apply_rotary(query[..., :r], cos, sin), query[..., r:]), dim=-1)
        key = torch.cat((apply_rotary(key[..., :r], cos, sin), key[..., r:]), dim=-1)
        key, value = cache_append(layer_cache, key, value)

        # GPTNeoXAttention._attn (eager)
        query_len, key_len = query.shape[-2], key.shape[-2]
        q = query.reshape(batch * self.num_heads, query_len, hs)
        k = key.reshape(batch * self.num_heads, key_len, hs)
        scores = torch.zeros(batch * self.num_heads, query_len, key_len, dtype=q.dtype)
        scores = torch.baddbmm(scores, q, k.transpose(1, 2), beta=1.0, alpha=self.norm_factor)
        scores = scores.view(batch, self.num_heads, query_len, key_len)
        mask_value = torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype)
        scores = torch.where(causal_bool(query_len, key_len), scores, mask_value)
        scores = scores + mask
        probs = F.softmax(scores, dim=-1).to(value.dtype)
        out = torch.matmul(probs, value)
        out = out.permute(0, 2, 1, 3).contiguous().view(batch, query_len, self.hidden_size)
        return F.linear(out, w["attention.dense.weight"], w.get("attention.dense.bias")), (key, value)

    def mlp(self, w, x):
        x = F.linear(x, w["mlp.dense_h_to_4h.weight"], w["mlp.dense_h_to_4h.bias"])
        x = self.act(x)
        return F.linear(x, w["mlp.dense_4h_to_h.weight"], w["mlp.dense_4h_to_h.bias"])

    def layer_norm(self, w, prefix, x):
        return F.layer_norm(x, (self.hidden_size,), w[prefix + "weight"], w[prefix + "bias"], self.eps)

    def layer(self, w, x, cos, sin, mask, layer_cache):
        attn, new_cache = self.attention(w, self.layer_norm(w, "input_layernorm.", x), cos, sin, mask, layer_cache)
        if self.parallel_residual:   # x + attn(ln1(x)) + mlp(ln2(x))
            mlp = self.mlp(w, self.layer_norm(w, "post_attention_layernorm.", x))
            x = mlp + attn + x
        else:                        # y = x + attn(ln1(x)); y + mlp(ln2(y))
            attn = attn + x
            mlp = self.mlp(w, self.layer_norm(w, "post_attention_layernorm.", attn))
            x = mlp + attn
        return x, new_cache

    def forward(self, input_ids, position_ids, attention_mask, cache=None, all_logits=False):
        x = F.embedding(input_ids, self.embed_in)
        mask = causal_padding_mask(attention_mask, input_ids.shape[1], x.dtype)
        cos, sin = rotary_cos_sin(position_ids, self.rotary_ndims, self.rotary_base)
        new_cache = []
        for i, w in enumerate(self.layers):
            x, layer_cache = self.layer(w, x, cos, sin, mask, cache[i] if cache else None)
            new_cache.append(layer_cache)
        pre_norm = x
        x = F.layer_norm(x, (self.hidden_size,), self.final_norm["weight"], self.final_norm["bias"], self.eps)
        # transformers 4.44 applies the head to every position; the peer, to be generous to
        # itself, applies it to the last position only unless all positions are asked for.
        logits = F.linear(x if all_logits else x[:, -1:, :], self.embed_out)
        return Output(logits, x, pre_norm, new_cache)


# ----------------------------------------------------------------------------------------------
# Gemma-2: Gemma2ForCausalLM
# ----------------------------------------------------------------------------------------------

class Gemma2:
    def __init__(self, config, weights, dtype):
        self.dtype = dtype
        self.hidden_size = config["hidden_size"]
        self.num_heads = config["num_attention_heads"]
        self.num_kv_heads = config["num_key_value_heads"]
        self.head_dim = config["head_dim"]
        self.scaling = config["query_pre_attn_scalar"] ** -0.5
        self.attn_softcap = config.get("attn_logit_softcapping")
        self.final_softcap = config.get("final_logit_softcapping")
        self.sliding_window = config.get("sliding_window")
        self.rope_theta = config.get("rope_theta", 10000.0)
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.act = ACTIVATIONS[config.get("hidden_activation") or config.get("hidden_act", "gelu_pytorch_tanh")]
        n_layers = config["num_hidden_layers"]
        layer_types = config.get("layer_types")
        if layer_types:
            self.sliding = [t == "sliding_attention" for t in layer_types]
        else:
            self.sliding = [i % 2 == 0 for i in range(n_layers)]  # layers 0, 2, 4, ...
        self.embed_tokens = weights.pop("model.embed_tokens.weight")
        self.layers = [take_weights(weights, f"model.layers.{i}.") for i in range(n_layers)]
        self.norm = weights.pop("model.norm.weight")
        weights.pop("lm_head.weight", None)  # the head is tied to embed_tokens

    def rms_norm(self, x, weight):
        """Gemma2RMSNorm: in float32, x / sqrt(mean(x^2) + eps) * (1 + w), back to x's dtype."""
        out = x.float()
        out = out * torch.rsqrt(out.pow(2).mean(-1, keepdim=True) + self.eps)
        out = out * (1.0 + weight.float())
        return out.type_as(x)

    def attention(self, w, x, cos, sin, mask, layer_cache):
        batch, seq, _ = x.shape
        query = F.linear(x, w["self_attn.q_proj.weight"]).view(batch, seq, self.num_heads, self.head_dim).transpose(1, 2)
        key = F.linear(x, w["self_attn.k_proj.weight"]).view(batch, seq, self.num_kv_heads, self.head_dim).transpose(1, 2)
        value = F.linear(x, w["self_attn.v_proj.weight"]).view(batch, seq, self.num_kv_heads, self.head_dim).transpose(1, 2)
        query = apply_rotary(query, cos, sin)
        key = apply_rotary(key, cos, sin)
        key, value = cache_append(layer_cache, key, value)

        # repeat_kv: query head h reads key/value head h // (num_heads / num_kv_heads)
        groups = self.num_heads // self.num_kv_heads
        key_len = key.shape[-2]
        keys = key[:, :, None].expand(batch, self.num_kv_heads, groups, key_len, self.head_dim)
        keys = keys.reshape(batch, self.num_heads, key_len, self.head_dim)
        values = value[:, :, None].expand(batch, self.num_kv_heads, groups, key_len, self.head_dim)
        values = values.reshape(batch, self.num_heads, key_len, self.head_dim)

        scores = torch.matmul(query, keys.transpose(2, 3)) * self.scaling
        if self.attn_softcap is not None:
            scores = scores / self.attn_softcap
            scores = torch.tanh(scores)
            scores = scores * self.attn_softcap
        scores = scores + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)  # upcast to fp32
        out = torch.matmul(probs, values)
        out = out.transpose(1, 2).contiguous().view(batch, seq, -1)
        return F.linear(out, w["self_attn.o_proj.weight"]), (key, value)

    def mlp(self, w, x):
        return F.linear(self.act(F.linear(x, w["mlp.gate_proj.weight"])) * F.linear(x, w["mlp.up_proj.weight"]),
                        w["mlp.down_proj.weight"])

    def layer(self, w, x, cos, sin, mask, layer_cache):
        residual = x
        x = self.rms_norm(x, w["input_layernorm.weight"])
        x, new_cache = self.attention(w, x, cos, sin, mask, layer_cache)
        x = self.rms_norm(x, w["post_attention_layernorm.weight"])
        x = residual + x
        residual = x
        x = self.rms_norm(x, w["pre_feedforward_layernorm.weight"])
        x = self.mlp(w, x)
        x = self.rms_norm(x, w["post_feedforward_layernorm.weight"])
        return residual + x, new_cache

    def forward(self, input_ids, position_ids, attention_mask, cache=None, all_logits=False):
        x = F.embedding(input_ids, self.embed_tokens)
        x = x * torch.tensor(self.hidden_size ** 0.5, dtype=x.dtype)  # normalizer in the model dtype
        seq = input_ids.shape[1]
        full_mask = causal_padding_mask(attention_mask, seq, x.dtype)
        sliding_mask = full_mask
        if self.sliding_window is not None:
            # query at cache index i sees key j only if i - window < j <= i
            key_len = attention_mask.shape[-1]
            query_idx = torch.arange(key_len - seq, key_len)[:, None]
            too_far = torch.arange(key_len)[None, :] <= query_idx - self.sliding_window
            sliding_mask = full_mask.masked_fill(too_far, torch.finfo(x.dtype).min)
        cos, sin = rotary_cos_sin(position_ids, self.head_dim, self.rope_theta)
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)  # Gemma-2 casts cos/sin to the model dtype
        new_cache = []
        for i, w in enumerate(self.layers):
            mask = sliding_mask if self.sliding[i] else full_mask
            x, layer_cache = self.layer(w, x, cos, sin, mask, cache[i] if cache else None)
            new_cache.append(layer_cache)
        pre_norm = x
        x = self.rms_norm(x, self.norm)
        # transformers 4.44 applies the head to every position; the peer, to be generous to
        # itself, applies it to the last position only unless all positions are asked for.
        logits = F.linear(x if all_logits else x[:, -1:, :], self.embed_tokens)
        if self.final_softcap is not None:
            logits = logits / self.final_softcap
            logits = torch.tanh(logits)
            logits = logits * self.final_softcap
        return Output(logits.float(), x, pre_norm, new_cache)


# ----------------------------------------------------------------------------------------------
# GPT-2: GPT2LMHeadModel
# ----------------------------------------------------------------------------------------------

class GPT2:
    def __init__(self, config, weights, dtype):
        self.dtype = dtype
        self.hidden_size = config["n_embd"]
        self.num_heads = config["n_head"]
        self.head_dim = self.hidden_size // self.num_heads
        self.eps = config.get("layer_norm_epsilon", 1e-5)
        self.act = ACTIVATIONS[config.get("activation_function", "gelu_new")]
        self.scale_attn_weights = config.get("scale_attn_weights", True)
        self.scale_by_layer = config.get("scale_attn_by_inverse_layer_idx", False)
        if config.get("reorder_and_upcast_attn", False):
            sys.exit("gpt2: reorder_and_upcast_attn is not supported by the peer")
        # Names with the "transformer." prefix (save_pretrained) or without (original gpt2).
        for name in [n for n in weights if n.startswith("transformer.")]:
            weights[name[len("transformer."):]] = weights.pop(name)
        self.wte = weights.pop("wte.weight")
        self.wpe = weights.pop("wpe.weight")
        self.layers = [take_weights(weights, f"h.{i}.") for i in range(config["n_layer"])]
        self.ln_f = take_weights(weights, "ln_f.")
        if config.get("tie_word_embeddings", True):
            weights.pop("lm_head.weight", None)
            self.lm_head = self.wte
        else:
            self.lm_head = weights.pop("lm_head.weight")

    @staticmethod
    def conv1d(x, weight, bias):
        """transformers' Conv1D: weight stored [in, out], y = x @ W + b."""
        out = torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight)
        return out.view(x.shape[:-1] + (weight.shape[1],))

    def split_heads(self, x):
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def attention(self, index, w, x, mask, layer_cache):
        query, key, value = self.conv1d(x, w["attn.c_attn.weight"], w["attn.c_attn.bias"]).split(self.hidden_size, dim=2)
        query, key, value = self.split_heads(query), self.split_heads(key), self.split_heads(value)
        key, value = cache_append(layer_cache, key, value)

        # GPT2Attention._attn (eager)
        scores = torch.matmul(query, key.transpose(-1, -2))
        if self.scale_attn_weights:
            scores = scores / torch.full([], value.size(-1) ** 0.5, dtype=scores.dtype)
        if self.scale_by_layer:
            scores = scores / float(index + 1)
        query_len, key_len = query.shape[-2], key.shape[-2]
        mask_value = torch.full([], torch.finfo(scores.dtype).min, dtype=scores.dtype)
        scores = torch.where(causal_bool(query_len, key_len), scores, mask_value)
        scores = scores + mask
        probs = F.softmax(scores, dim=-1).type(value.dtype)
        out = torch.matmul(probs, value)
        batch = out.shape[0]
        out = out.permute(0, 2, 1, 3).contiguous().view(batch, query_len, self.hidden_size)
        return self.conv1d(out, w["attn.c_proj.weight"], w["attn.c_proj.bias"]), (key, value)

    def mlp(self, w, x):
        x = self.act(self.conv1d(x, w["mlp.c_fc.weight"], w["mlp.c_fc.bias"]))
        return self.conv1d(x, w["mlp.c_proj.weight"], w["mlp.c_proj.bias"])

    def layer_norm(self, w, prefix, x):
        return F.layer_norm(x, (self.hidden_size,), w[prefix + "weight"], w[prefix + "bias"], self.eps)

    def layer(self, index, w, x, mask, layer_cache):
        attn, new_cache = self.attention(index, w, self.layer_norm(w, "ln_1.", x), mask, layer_cache)
        x = attn + x
        x = x + self.mlp(w, self.layer_norm(w, "ln_2.", x))
        return x, new_cache

    def forward(self, input_ids, position_ids, attention_mask, cache=None, all_logits=False):
        x = F.embedding(input_ids, self.wte) + F.embedding(position_ids, self.wpe)
        # GPT2Model (eager): a [batch, 1, 1, key_len] mask, (1 - mask) * min; causality comes
        # from the bool buffer inside the attention.
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        new_cache = []
        for i, w in enumerate(self.layers):
            x, layer_cache = self.layer(i, w, x, mask, cache[i] if cache else None)
            new_cache.append(layer_cache)
        pre_norm = x
        x = F.layer_norm(x, (self.hidden_size,), self.ln_f["weight"], self.ln_f["bias"], self.eps)
        # transformers 4.44 applies the head to every position; the peer, to be generous to
        # itself, applies it to the last position only unless all positions are asked for.
        logits = F.linear(x if all_logits else x[:, -1:, :], self.lm_head)
        return Output(logits, x, pre_norm, new_cache)


ARCHITECTURES = {"gpt_neox": GPTNeoX, "gemma2": Gemma2, "gpt2": GPT2}


def tensors_held(value):
    """Every tensor an architecture object holds, directly or in its dicts and lists."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_held(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors_held(item)


def load_model(folder, dtype):
    config, weights = load_folder(folder, dtype)
    model_type = config.get("model_type")
    if model_type not in ARCHITECTURES:
        sys.exit(f"{folder}: model_type {model_type!r} is not one of {sorted(ARCHITECTURES)}")
    # Count the weights as loaded (each stored tensor once, so a tied head counts once).
    weights_bytes = sum(t.numel() * t.element_size() for t in weights.values())
    by_file_name = dict(weights)
    model = ARCHITECTURES[model_type](config, weights, dtype)
    if weights:
        sys.exit(f"{folder}: weights the {model_type} model does not use: {sorted(weights)[:5]}")
    model.config = config
    model.weights_bytes = weights_bytes
    # The tensors the model computes with, under their names in the file (a tied head that the
    # file also stores is dropped by the architecture and so left out): the training peer
    # makes these its parameters and saves them under the same names.
    held = {id(t) for t in tensors_held(vars(model))}
    model.named_weights = {name: t for name, t in by_file_name.items() if id(t) in held}
    return model


# ----------------------------------------------------------------------------------------------
# Greedy generation with the cache (what generate() does with do_sample=False)
# ----------------------------------------------------------------------------------------------

def left_pad(rows, pad_id):
    """input_ids and attention_mask [batch, longest] for token lists of any lengths."""
    longest = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            input_ids[i, longest - len(r):] = torch.tensor(r, dtype=torch.long)
            attention_mask[i, longest - len(r):] = 1
    return input_ids, attention_mask


def prefill(model, input_ids, attention_mask):
    """Forward over the prompts, building the cache; returns (first tokens [batch], cache)."""
    out = model.forward(input_ids, position_ids_from_mask(attention_mask), attention_mask)
    next_tokens = torch.argmax(out.logits[:, -1, :], dim=-1)  # ties: the lowest id
    return next_tokens, out.cache


def decode_step(model, tokens, attention_mask, cache):
    """One greedy step: feed the last chosen tokens; attention_mask already covers them."""
    position_ids = position_ids_from_mask(attention_mask)[:, -1:]
    out = model.forward(tokens[:, None], position_ids, attention_mask, cache)
    return torch.argmax(out.logits[:, -1, :], dim=-1), out.cache


def greedy_generate(model, input_ids, attention_mask, new_tokens):
    """new_tokens greedy tokens per row, [batch, new_tokens]; does not stop at EOS."""
    tokens, cache = prefill(model, input_ids, attention_mask)
    generated = [tokens]
    for _ in range(new_tokens - 1):
        attention_mask = torch.cat((attention_mask, attention_mask.new_ones((attention_mask.shape[0], 1))), dim=-1)
        tokens, cache = decode_step(model, tokens, attention_mask, cache)
        generated.append(tokens)
    return torch.stack(generated, dim=1)


# ----------------------------------------------------------------------------------------------
# check: recompute golden.json
# ----------------------------------------------------------------------------------------------

def max_abs(a, b):
    return float((torch.as_tensor(a, dtype=torch.float64) - torch.as_tensor(b, dtype=torch.float64)).abs().max())


def check(args):
    dtype = DTYPES[args.dtype]
    model = load_model(args.golden, dtype)
    with open(os.path.join(args.golden, "golden.json")) as f:
        golden = json.load(f)
    n_new = golden["n_new"]
    fixed_id = golden["fixed_id"]
    report = {"model": golden["model"], "model_type": golden["model_type"], "dtype": args.dtype,
              "tolerance": args.tolerance, "sequences": []}
    worst_logit = 0.0
    token_mismatches = 0

    for seq in golden["sequences"]:
        ids = torch.tensor([seq["input_ids"]], dtype=torch.long)
        mask = torch.ones_like(ids)
        out = model.forward(ids, position_ids_from_mask(mask), mask, all_logits=True)
        logits = out.logits[0].double()
        expected = torch.tensor(seq["per_position"], dtype=torch.float64)
        argmax_diff = int((logits.argmax(-1) != expected[:, 0].long()).sum())
        generated = greedy_generate(model, ids, mask, n_new)[0].tolist()
        greedy_diff = sum(a != b for a, b in zip(generated, seq["greedy"]))
        entry = {
            "length": ids.shape[1],
            "last_logits_max_abs_diff": max_abs(logits[-1], seq["last_logits"]),
            "per_position_logsumexp_max_abs_diff": max_abs(torch.logsumexp(logits, -1), expected[:, 1]),
            "per_position_fixed_logit_max_abs_diff": max_abs(logits[:, fixed_id], expected[:, 2]),
            "per_position_argmax_mismatches": argmax_diff,
            "hidden_mean_max_abs_diff": max_abs(out.hidden[0].double().mean(0), seq["hidden_mean"]),
            "pre_norm_mean_max_abs_diff": max_abs(out.pre_norm[0].double().mean(0), seq["pre_norm_mean"]),
            "greedy_mismatches": greedy_diff,
        }
        if greedy_diff:
            entry["greedy"], entry["greedy_expected"] = generated, seq["greedy"]
        report["sequences"].append(entry)
        worst_logit = max(worst_logit, entry["last_logits_max_abs_diff"],
                          entry["per_position_logsumexp_max_abs_diff"], entry["per_position_fixed_logit_max_abs_diff"])
        token_mismatches += argmax_diff + greedy_diff

    batch = golden["batch"]
    ids = torch.tensor(batch["input_ids"], dtype=torch.long)
    mask = torch.tensor(batch["attention_mask"], dtype=torch.long)
    position_ids = position_ids_from_mask(mask)
    out = model.forward(ids, position_ids, mask)
    last = out.logits[:, -1, :].double()
    expected_last = batch["last_logits"] or [s["last_logits"] for s in golden["sequences"]]
    summary = torch.tensor(batch["last_summary"], dtype=torch.float64)
    generated = greedy_generate(model, ids, mask, n_new).tolist()
    batch_entry = {
        "position_ids_equal": position_ids.tolist() == batch["position_ids"],
        "last_logits_max_abs_diff": max_abs(last, expected_last),
        "last_summary_logsumexp_max_abs_diff": max_abs(torch.logsumexp(last, -1), summary[:, 1]),
        "last_argmax_mismatches": int((last.argmax(-1) != summary[:, 0].long()).sum()),
        "greedy_mismatches": sum(a != b for row, exp in zip(generated, batch["greedy"]) for a, b in zip(row, exp)),
    }
    report["batch"] = batch_entry
    worst_logit = max(worst_logit, batch_entry["last_logits_max_abs_diff"],
                      batch_entry["last_summary_logsumexp_max_abs_diff"])
    token_mismatches += batch_entry["last_argmax_mismatches"] + batch_entry["greedy_mismatches"]
    if not batch_entry["position_ids_equal"]:
        token_mismatches += 1

    report["max_abs_logit_diff"] = worst_logit
    report["token_mismatches"] = token_mismatches
    report["ok"] = worst_logit <= args.tolerance and token_mismatches == 0
    print(json.dumps(report, indent=1))
    if args.dtype == "fp32" and not report["ok"]:
        return 1
    return 0  # a bf16 run is reported, not judged: bf16 rounding is far above the tolerance


# ----------------------------------------------------------------------------------------------
# bench: time prefill and decode
# ----------------------------------------------------------------------------------------------

def forward(args):
    model = load_model(args.model, torch.float32)
    ids = torch.tensor([[int(i) for i in args.ids.split(",")]], dtype=torch.long)
    mask = torch.ones_like(ids)
    logits = model.forward(ids, position_ids_from_mask(mask), mask, all_logits=True).logits[0].float()
    print(json.dumps({"argmax": logits.argmax(-1).tolist(), "last_logits": logits[-1].tolist()}))
    return 0


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def bench(args):
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = load_model(args.model, DTYPES[args.dtype])
    load_seconds = time.perf_counter() - start

    with open(args.prompt_ids) as f:
        prompts = json.load(f)
    rows = [prompts[0 if args.shared_prompt else i % len(prompts)] for i in range(args.batch)]
    config = model.config
    pad_id = config.get("pad_token_id")
    if pad_id is None:
        eos = config.get("eos_token_id", 0)
        pad_id = eos[0] if isinstance(eos, list) else eos
    input_ids, attention_mask = left_pad(rows, pad_id)

    with torch.inference_mode():
        # Untimed warm-up: a 16-token forward at batch 1.
        warm_ids = input_ids[:1, -16:]
        warm_mask = torch.ones_like(warm_ids)
        model.forward(warm_ids, position_ids_from_mask(warm_mask), warm_mask)

        start = time.perf_counter()
        if args.shared_prompt:
            # One prompt for every row: prefill it once and copy its cache to each row.
            tokens, cache = prefill(model, input_ids[:1], attention_mask[:1])
            tokens = tokens.repeat(args.batch)
            cache = [(k.repeat(args.batch, 1, 1, 1), v.repeat(args.batch, 1, 1, 1)) for k, v in cache]
        else:
            tokens, cache = prefill(model, input_ids, attention_mask)
        prefill_seconds = time.perf_counter() - start

        generated = [tokens]
        start = time.perf_counter()
        for _ in range(args.new_tokens - 1):
            attention_mask = torch.cat((attention_mask, attention_mask.new_ones((args.batch, 1))), dim=-1)
            tokens, cache = decode_step(model, tokens, attention_mask, cache)
            generated.append(tokens)
        decode_seconds = time.perf_counter() - start

    prefill_tokens = len(rows[0]) if args.shared_prompt else sum(len(r) for r in rows)
    decode_tokens = args.batch * (args.new_tokens - 1)
    result = {
        "model_type": config["model_type"],
        "dtype": args.dtype,
        "threads": args.threads,
        "batch": args.batch,
        "prompt_lengths": [len(r) for r in rows],
        "prefill_tokens": prefill_tokens,
        "prefill_seconds": prefill_seconds,
        "prefill_tokens_per_s": prefill_tokens / prefill_seconds,
        "decode_tokens": decode_tokens,
        "decode_seconds": decode_seconds,
        "decode_tokens_per_s": decode_tokens / decode_seconds if decode_tokens else None,
        "generated": torch.stack(generated, dim=1).tolist(),
        "peak_rss_bytes": peak_rss_bytes(),
        "weights_bytes": model.weights_bytes,
        "load_seconds": load_seconds,
        "torch": torch.__version__,
    }
    print(json.dumps(result))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="recompute a golden.json folder in float32")
    p.add_argument("--golden", required=True, help="a folder of ../shared/golden/models")
    p.add_argument("--dtype", choices=DTYPES, default="fp32", help="only fp32 is judged")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max abs logit difference")
    p = sub.add_parser("forward", help="last-position logits and per-position argmax, float32")
    p.add_argument("--model", required=True, help="a Hugging Face model folder")
    p.add_argument("--ids", required=True, help="token ids, comma-separated")
    p = sub.add_parser("bench", help="time prefill and greedy decode")
    p.add_argument("--model", required=True, help="a Hugging Face model folder")
    p.add_argument("--dtype", choices=DTYPES, default="fp32")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--prompt-ids", required=True, help="JSON list of token-id lists")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--new-tokens", type=int, default=16)
    p.add_argument("--shared-prompt", action="store_true",
                   help="every row is the first prompt: prefill it once at batch 1 and copy its cache "
                        "to the rows (for timing decode at batch > 1 without BATCH prefills)")
    args = parser.parse_args()
    with torch.inference_mode():
        sys.exit({"check": check, "forward": forward, "bench": bench}[args.command](args))


if __name__ == "__main__":
    main()
