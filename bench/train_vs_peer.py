#!/usr/bin/python3
"""Training benchmark: `c2s train` against the eager PyTorch peer (bench/train_peer.py).

The model is the one c2s trains from scratch on a CPU: `--init small` (GPT-NeoX, 256 hidden,
6 layers) over a gene tokenizer built from ../shared/data/kang2018_muscat_kang_se_12k.h5ad, its
random weights written once to a folder both programs start from. The examples are that
store's cell_type_prediction prompts (--top-k genes); both programs train on the same token ids
(c2s tokenizes them itself; the peer gets them from `c2s tokenize`, checked to be the same
count), loss on the response, AdamW, constant learning rate, clipping at 1.0, --steps steps of
--batch-size examples. The peer's micro-batches hold examples of equal length where it can
(sorted by length: at most as much padding as c2s's bucketing), so it never does more work.
Reported: input (non-pad) tokens per second of each, and their ratio, in the same run;
peak RSS of each; --repeats runs of each, alternating, medians. The machine's speed drifts over
minutes, so beside the ratio of the medians comes the median of the paired ratios (each c2s run
against the peer run that follows it, seconds apart), the steadier of the two.

Run from the repository root after building:
    bench/train_vs_peer.py --json /tmp/c2s-train-bench/results.json
"""
import argparse, json, os, shutil, sys

from convert_vs_peer import machine
from model_vs_peer import median, run

C2S = "build/c2s"
PEER = "bench/train_peer.py"
DATA = "../shared/data/kang2018_muscat_kang_se_12k.h5ad"
GIB = 2**30


def tokenize(texts, tokenizer, special):
    cmd = [C2S, "-q", "tokenize", "--tokenizer", tokenizer] + (["--add-special-tokens"] if special else [])
    out = run(cmd, input="".join(json.dumps(t) + "\n" for t in texts))
    return [json.loads(l)["ids"] for l in out.splitlines()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/c2s-train-bench")
    ap.add_argument("--size", default="small", help="c2s train --init size (a preset or a config.json)")
    ap.add_argument("--top-k", type=int, default=100)
    ap.add_argument("--examples", type=int, default=400, help="examples in the file (steps x batch at most)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lengths", choices=("shortest", "spread"), default="shortest",
                    help="which examples: the shortest (near-equal lengths), or spread evenly over the file's "
                         "lengths (all-genes sentences); either way each step holds examples of neighbouring lengths")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--json", help="write all results here")
    args = ap.parse_args()
    w = args.work
    os.makedirs(w, exist_ok=True)

    store, tok = os.path.join(w, "cells.c2s"), os.path.join(w, "tokenizer")
    if not os.path.exists(store):
        run([C2S, "-q", "convert", DATA, "-o", store])
    if not os.path.exists(os.path.join(tok, "tokenizer.json")):
        run([C2S, "-q", "tokenizer", "build", store, "-o", tok])
    text_file = os.path.join(w, "examples.jsonl")
    run([C2S, "-q", "prompts", store, "--task", "cell_type_prediction", "--top-k", str(args.top_k),
         "--max-examples", str(args.examples), "-o", text_file])
    examples = [json.loads(l) for l in open(text_file)]
    prompts = tokenize([e["model_input"] for e in examples], tok, True)
    responses = tokenize([e["response"] for e in examples], tok, False)
    eos = json.load(open(os.path.join(tok, "special_tokens_map.json")))["eos_token"]
    eos = eos["content"] if isinstance(eos, dict) else eos
    vocab = json.load(open(os.path.join(tok, "tokenizer.json")))["model"]["vocab"]
    ids_file = os.path.join(w, "examples_ids.jsonl")
    with open(ids_file, "w") as f:
        for p, r in zip(prompts, responses):
            f.write(json.dumps({"ids": p + r + [vocab[eos]], "prompt_tokens": len(p)}) + "\n")
    lengths = [len(p) + len(r) + 1 for p, r in zip(prompts, responses)]

    # The starting weights: c2s's own --init, written once.
    start = os.path.join(w, "start-" + os.path.basename(args.size))
    if not os.path.exists(os.path.join(start, "model.safetensors")):
        probe = os.path.join(w, "probe")
        shutil.rmtree(probe, ignore_errors=True)
        run([C2S, "-q", "train", "--init", args.size, "--tokenizer", tok, "--examples", text_file, "-o", probe,
             "--max-steps", "1", "--batch-size", "1"])
        run([C2S, "-q", "init-model", "--config", os.path.join(probe, "checkpoint-last", "config.json"),
             "--tokenizer", tok, "-o", start])

    order = sorted(range(len(examples)), key=lambda i: lengths[i])
    n = args.steps * args.batch_size
    if n > len(order):
        sys.exit(f"--steps x --batch-size = {n} examples, the file has {len(order)}")
    chosen = order[:n] if args.lengths == "shortest" else [order[i * len(order) // n] for i in range(n)]
    steps = [[chosen[s * args.batch_size:(s + 1) * args.batch_size]] for s in range(args.steps)]
    plan = dict(padding_side="right", pad_id=0, loss_on="response", lr=3e-4, weight_decay=0.01,
                schedule="constant", warmup_steps=0, max_grad_norm=1.0, steps=steps)
    plan_file = os.path.join(w, "plan.json")
    with open(plan_file, "w") as f:
        json.dump(plan, f)
    # c2s trains on the same examples (its own plan: same batch size and steps, bucketed).
    subset = os.path.join(w, "examples_subset.jsonl")
    with open(subset, "w") as f:
        for i in chosen:
            f.write(json.dumps({"model_input": examples[i]["model_input"], "response": examples[i]["response"]}) + "\n")
    print(f"{n} examples of {min(lengths[i] for i in chosen)}-{max(lengths[i] for i in chosen)} tokens, "
          f"{args.steps} steps of {args.batch_size}", file=sys.stderr)

    results = dict(machine=machine(), size=args.size, top_k=args.top_k, lengths=args.lengths, batch_size=args.batch_size,
                   steps=args.steps, threads=args.threads, runs=[])
    for dtype in args.dtypes.split(","):
        c2s_runs, peer_runs = [], []
        for _ in range(args.repeats):
            out = os.path.join(w, "run-c2s")
            shutil.rmtree(out, ignore_errors=True)
            cmd = [C2S, "-q", "--threads", str(args.threads), "--json", "train", "--model", start, "--examples", subset,
                   "-o", out, "--batch-size", str(args.batch_size), "--max-steps", str(args.steps), "--lr", "3e-4",
                   "--weight-decay", "0.01", "--schedule", "constant", "--max-grad-norm", "1"]
            if dtype == "bf16":
                cmd.append("--bf16")
            c2s_runs.append(json.loads(run(cmd)))
            peer = [sys.executable, PEER, "train", "--model", start, "--examples", ids_file, "--plan", plan_file,
                    "--threads", str(args.threads), "--json",
                    "--dtype", "bf16-autocast" if dtype == "bf16" else "fp32"]
            env = dict(os.environ)
            kernels = c2s_runs[-1].get("blas_kernels")
            if kernels:
                env["OPENBLAS_CORETYPE"] = kernels
            peer_runs.append(json.loads(run(peer, env=env)))
        c2s_rates = [x["input_tokens_per_s"] for x in c2s_runs]
        peer_rates = [x["input_tokens_per_s"] for x in peer_runs]
        r = dict(dtype=dtype,
                 c2s_runs_tokens_per_s=c2s_rates, peer_runs_tokens_per_s=peer_rates,
                 paired_ratio=median([a / b for a, b in zip(c2s_rates, peer_rates)]),
                 c2s_tokens_per_s=median([x["input_tokens_per_s"] for x in c2s_runs]),
                 peer_tokens_per_s=median([x["input_tokens_per_s"] for x in peer_runs]),
                 c2s_range=[min(x["input_tokens_per_s"] for x in c2s_runs), max(x["input_tokens_per_s"] for x in c2s_runs)],
                 peer_range=[min(x["input_tokens_per_s"] for x in peer_runs), max(x["input_tokens_per_s"] for x in peer_runs)],
                 c2s_peak_rss=max(x["peak_rss_bytes"] for x in c2s_runs),
                 peer_peak_rss=max(x["peak_rss_bytes"] for x in peer_runs),
                 c2s_final_loss=c2s_runs[0]["loss"], peer_final_loss=peer_runs[0]["steps"][-1]["loss"],
                 c2s_memory_estimate=c2s_runs[0]["memory_estimate_bytes"],
                 parameters=c2s_runs[0]["trained_parameters"])
        results["runs"].append(r)
        print(f"{args.size} {dtype}: c2s {r['c2s_tokens_per_s']:.0f} tok/s, peer {r['peer_tokens_per_s']:.0f} tok/s "
              f"({r['c2s_tokens_per_s'] / r['peer_tokens_per_s']:.2f}x; paired {r['paired_ratio']:.2f}x); peak RSS c2s {r['c2s_peak_rss'] / GIB:.2f} GiB, "
              f"peer {r['peer_peak_rss'] / GIB:.2f} GiB; loss after {args.steps} steps c2s {r['c2s_final_loss']:.3f}, "
              f"peer {r['peer_final_loss']:.3f}", flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
