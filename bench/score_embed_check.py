#!/usr/bin/python3
"""score_embed_check.py: `c2s score` and `c2s embed` against bench/model_peer.py in float64.

Run from the repository root after building (`build/c2s`):

  bench/score_embed_check.py [MODEL_NAME ...]     (default: five of ../shared/golden/models)

For each golden model: the three golden sequences as prompts, four candidates each (the first
greedy token, six greedy tokens, four arbitrary ids, one arbitrary id). Prints one JSON object:
- score_max_abs_diff_vs_fp64_peer: largest |c2s score - sum of log_softmax of the whole
  prompt + candidate sequence| (the peer in float64, no cache);
- embed_max_abs_diff_vs_fp64_peer: largest element difference of `c2s embed` (batched) from the
  peer's mean / last hidden state of each prompt run alone;
- cosine_c2s_vs_padded_mean_by_prompt_length: cosine similarity between c2s's mean embedding
  and the reference package's (one left-padded batch, mean over every position, pads
  included), by prompt length; null where the peer's fully masked pad rows give NaN (Gemma-2).
These are the figures quoted in docs/formats/score-jsonl.md and docs/formats/embeddings.md.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_peer as mp  # noqa: E402

C2S = "build/c2s"
GOLDEN = "../shared/golden/models"
TMP = os.environ.get("TMPDIR", "/tmp")


def c2s(*args):
    return subprocess.run([C2S, "-q", "--threads", "2", *args], capture_output=True, text=True, check=True).stdout


def check(name):
    folder = f"{GOLDEN}/{name}"
    golden = json.load(open(folder + "/golden.json"))
    model = mp.load_model(folder, torch.float64)
    V = model.config["vocab_size"]
    prompts = [s["input_ids"] for s in golden["sequences"]]
    cands = [[s["greedy"][:1], s["greedy"][:6], [V - 1, 3, 7, 9], [11]] for s in golden["sequences"]]
    path = os.path.join(TMP, f"score_embed_check_{os.getpid()}.jsonl")
    npy = os.path.join(TMP, f"score_embed_check_{os.getpid()}.npy")
    with open(path, "w") as f:
        for p, c in zip(prompts, cands):
            f.write(json.dumps({"ids": p, "candidates": c}) + "\n")

    got = [json.loads(l) for l in c2s("score", "--model", folder, "--prompts", path, "--batch-size", "3").splitlines()]
    worst = 0.0
    for p, cs, r in zip(prompts, cands, got):
        for c, s in zip(cs, r["scores"]):
            ids = torch.tensor([p + c])
            mask = torch.ones_like(ids)
            out = model.forward(ids, mp.position_ids_from_mask(mask), mask, all_logits=True)
            lp = F.log_softmax(out.logits[0].double(), -1)
            ref = sum(float(lp[len(p) + k - 1, t]) for k, t in enumerate(c))
            worst = max(worst, abs(ref - s["log_likelihood"]))

    embed_worst = {}
    for pooling in ["last", "mean"]:
        c2s("embed", "--model", folder, "--prompts", path, "--pooling", pooling, "-o", npy)
        e = np.load(npy)
        w = 0.0
        for i, p in enumerate(prompts):
            ids = torch.tensor([p])
            mask = torch.ones_like(ids)
            h = model.forward(ids, mp.position_ids_from_mask(mask), mask).hidden[0].double()
            ref = h.mean(0) if pooling == "mean" else h[-1]
            w = max(w, float((torch.tensor(e[i]).double() - ref).abs().max()))
        embed_worst[pooling] = w
    mean = torch.tensor(np.load(npy)).double()  # the last loop ran mean pooling

    # The reference package: one left-padded batch, a plain forward call (positions 0..T-1),
    # hidden_states[-1][i].mean(0) over every position, pads included.
    ids, mask = mp.left_pad(prompts, 0)
    T = ids.shape[1]
    h = model.forward(ids, torch.arange(T).expand(len(prompts), T), mask).hidden.double()
    padded = h.mean(1)
    cos = {}
    for i, p in enumerate(prompts):
        c = float(F.cosine_similarity(mean[i], padded[i], dim=0))
        cos[len(p)] = None if math.isnan(c) else round(c, 4)
    os.remove(path)
    os.remove(npy)
    return {"score_max_abs_diff_vs_fp64_peer": worst, "embed_max_abs_diff_vs_fp64_peer": embed_worst,
            "cosine_c2s_vs_padded_mean_by_prompt_length": cos}


def main():
    torch.set_num_threads(2)
    names = sys.argv[1:] or ["neox-tiny", "neox-tiny-bf16", "neox-tiny-seq-f16", "gemma2-tiny", "gpt2-tiny"]
    print(json.dumps({n: check(n) for n in names}, indent=1))


if __name__ == "__main__":
    main()
