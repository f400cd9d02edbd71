#!/usr/bin/python3
"""Model engine benchmark: `c2s generate` against the eager PyTorch peer (bench/model_peer.py).

For each model shape (Pythia-410M, Gemma-2-2B) and dtype (fp32, bf16) it writes a Hugging Face
folder of random weights stored in that dtype (`c2s init-model --preset P --dtype D`, cached
under --work), then runs, as child processes in the same run and on the same folder:
  - batch 1: a ~700-token cell-type prompt (exactly --prompt-tokens tokens), greedy,
    --new-tokens new tokens: prefill tokens/s and decode tokens/s;
  - batch 16: the same prompt in every row (both programs prefill it once and copy its
    cache to the rows: c2s through its shared-prefix path, the peer with --shared-prompt),
    then --batch-new-tokens greedy steps: decode tokens/s.
Both programs ignore EOS and must generate the same tokens in fp32 (bf16 may differ at near
ties; the agreement is reported). c2s's peak RSS is compared with weights + KV cache + 20%.

The prompt is a real one: `c2s prompts --task cell_type_prediction` on
../shared/data/kang2018_muscat_kang_se_12k.h5ad, tokenized with the GPT-NeoX tokenizer
(../shared/golden/tokenizers/gpt-neox), choosing a cell and a sentence length whose prompt is
exactly --prompt-tokens tokens. Both models get the same ids.

Run from the repository root after building. The four folders take 17 GiB in --work (du). On the
2-core machine (2026-11-21) the Pythia cases took about 5 minutes with 3 repeats and the Gemma-2-2B
cases about 8 minutes with --repeats 1 (see docs/BENCHMARKS.md):
    bench/model_vs_peer.py --presets pythia-410m --json /tmp/c2s-model-bench/pythia.json
    bench/model_vs_peer.py --presets gemma-2-2b --repeats 1 --json /tmp/c2s-model-bench/gemma.json
"""
import argparse, json, os, subprocess, sys, time

from convert_vs_peer import machine

C2S = "build/c2s"
PEER = "bench/model_peer.py"
DATA = "../shared/data/kang2018_muscat_kang_se_12k.h5ad"
TOKENIZER = "../shared/golden/tokenizers/gpt-neox/tokenizer.json"
GIB = 2**30


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return out.stdout


def prompt_ids(work, length):
    """Token ids of a cell-type prompt of exactly `length` tokens."""
    store = os.path.join(work, "cells.c2s")
    if not os.path.exists(store):
        run([C2S, "-q", "convert", DATA, "-o", store])
    prompts = os.path.join(work, "prompts.jsonl")

    def lengths(top_k):
        run([C2S, "-q", "prompts", store, "--task", "cell_type_prediction", "--top-k", str(top_k),
             "--max-examples", "40", "-o", prompts])
        texts = [json.loads(l)["model_input"] for l in open(prompts)]
        tokens = run([C2S, "-q", "tokenize", "--tokenizer", TOKENIZER], input="".join(json.dumps(t) + "\n" for t in texts))
        return [json.loads(l)["ids"] for l in tokens.splitlines()]

    rows = lengths(100)  # about 3.4 tokens per gene: start near the length, then scan around it
    estimate = round(100 * length / (sum(len(r) for r in rows) / len(rows)))
    for top_k in sorted(range(estimate - 15, estimate + 16), key=lambda k: abs(k - estimate)):
        exact = [r for r in lengths(top_k) if len(r) == length]
        if exact:
            return exact[0], top_k
    sys.exit(f"no cell's prompt is exactly {length} tokens")


def model_folder(work, preset, dtype):
    folder = os.path.join(work, f"{preset}-{dtype}")
    if not os.path.exists(os.path.join(folder, "config.json")):
        run([C2S, "-q", "init-model", "--preset", preset, "--dtype", dtype, "--seed", "0", "-o", folder])
    return folder


def warm(folder):
    """Read the weights once so both programs start from the page cache."""
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            while f.read(1 << 24):
                pass


def bench_c2s(folder, dtype, ids_file, batch, new_tokens, threads):
    out = run([C2S, "-q", "--threads", str(threads), "generate", "--json", "--model", folder, "--dtype", dtype,
               "--prompts", ids_file, "--batch-size", str(batch), "--greedy", "--ignore-eos",
               "--max-new-tokens", str(new_tokens)])
    doc = json.loads(out)
    s = doc["summary"]
    return dict(s, generated=[r["tokens"] for r in doc["results"]])


def bench_peer(folder, dtype, prompt, batch, new_tokens, threads, work, blas_kernels):
    path = os.path.join(work, "peer_prompt.json")
    with open(path, "w") as f:
        json.dump([prompt], f)
    cmd = ["/usr/bin/python3", PEER, "bench", "--model", folder, "--dtype", dtype, "--threads", str(threads),
           "--prompt-ids", path, "--batch", str(batch), "--new-tokens", str(new_tokens)]
    if batch > 1:
        cmd.append("--shared-prompt")
    env = dict(os.environ)
    if blas_kernels:
        env["OPENBLAS_CORETYPE"] = blas_kernels
    return json.loads(run(cmd, env=env))


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/c2s-model-bench")
    ap.add_argument("--presets", default="pythia-410m,gemma-2-2b")
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--prompt-tokens", type=int, default=700)
    ap.add_argument("--new-tokens", type=int, default=32, help="new tokens at batch 1")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--batch-new-tokens", type=int, default=16, help="new tokens per row at --batch")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of each program per case, alternating; the medians are reported")
    ap.add_argument("--peer-blas", choices=("same", "default"), default="same",
                    help="same: the peer runs the OpenBLAS kernels c2s chose (OPENBLAS_CORETYPE), so the ratio "
                         "compares the engines; default: the peer as Debian's OpenBLAS picks them")
    ap.add_argument("--json", help="write all results here")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    prompt, top_k = prompt_ids(args.work, args.prompt_tokens)
    ids_file = os.path.join(args.work, "prompt_ids.jsonl")
    with open(ids_file, "w") as f:
        for _ in range(args.batch):
            f.write(json.dumps({"ids": prompt}) + "\n")
    single_file = os.path.join(args.work, "prompt_ids_1.jsonl")
    with open(single_file, "w") as f:
        f.write(json.dumps({"ids": prompt}) + "\n")
    print(f"prompt: {len(prompt)} tokens (top-{top_k} genes)", file=sys.stderr)

    results = dict(machine=machine(), prompt_tokens=len(prompt), top_k=top_k, runs=[])
    for preset in args.presets.split(","):
        for dtype in args.dtypes.split(","):
            folder = model_folder(args.work, preset, dtype)
            warm(folder)
            for batch, new_tokens, ids in ((1, args.new_tokens, single_file), (args.batch, args.batch_new_tokens, ids_file)):
                t = time.perf_counter()
                c2s_runs, peer_runs = [], []
                for _ in range(args.repeats):
                    c2s_runs.append(bench_c2s(folder, dtype, ids, batch, new_tokens, args.threads))
                    kernels = c2s_runs[0]["blas_kernels"] if args.peer_blas == "same" else ""
                    peer_runs.append(bench_peer(folder, dtype, prompt, batch, new_tokens, args.threads, args.work,
                                                kernels))
                c2s, peer = c2s_runs[0], peer_runs[0]
                same = sum(a == b for a, b in zip(c2s["generated"], peer["generated"]))
                budget = (c2s["weights_bytes"] + c2s["kv_cache_bytes"]) * 1.2
                med = lambda runs, key: median([r[key] for r in runs])
                spread = lambda runs, key: [min(r[key] for r in runs), max(r[key] for r in runs)]
                run_result = dict(
                    preset=preset, dtype=dtype, batch=batch, new_tokens=new_tokens, repeats=args.repeats,
                    blas_kernels=c2s["blas_kernels"], peer_blas=args.peer_blas,
                    c2s_prefill=med(c2s_runs, "prefill_tokens_per_s"), peer_prefill=med(peer_runs, "prefill_tokens_per_s"),
                    c2s_decode=med(c2s_runs, "decode_tokens_per_s"), peer_decode=med(peer_runs, "decode_tokens_per_s"),
                    c2s_prefill_range=spread(c2s_runs, "prefill_tokens_per_s"),
                    peer_prefill_range=spread(peer_runs, "prefill_tokens_per_s"),
                    c2s_decode_range=spread(c2s_runs, "decode_tokens_per_s"),
                    peer_decode_range=spread(peer_runs, "decode_tokens_per_s"),
                    c2s_peak_rss=max(r["peak_rss_bytes"] for r in c2s_runs),
                    peer_peak_rss=max(r["peak_rss_bytes"] for r in peer_runs),
                    weights_bytes=c2s["weights_bytes"], kv_cache_bytes=c2s["kv_cache_bytes"],
                    memory_budget=budget, rows_identical=f"{same}/{batch}",
                    c2s_load_s=med(c2s_runs, "load_seconds"), peer_load_s=med(peer_runs, "load_seconds"),
                    seconds=time.perf_counter() - t)
                results["runs"].append(run_result)
                r = run_result
                print(f"{preset:12} {dtype} b{batch:<2} prefill c2s {r['c2s_prefill']:7.1f} peer {r['peer_prefill']:7.1f}"
                      f" ({r['c2s_prefill'] / r['peer_prefill']:.2f}x)  decode c2s {r['c2s_decode']:6.2f}"
                      f" peer {r['peer_decode']:6.2f} ({r['c2s_decode'] / r['peer_decode']:.2f}x)"
                      f"  rss c2s {r['c2s_peak_rss'] / GIB:.2f} GiB (budget {budget / GIB:.2f}) peer"
                      f" {r['peer_peak_rss'] / GIB:.2f}  same {r['rows_identical']}  blas {r['blas_kernels']}"
                      f"  [{r['seconds']:.0f} s]", flush=True)
                if args.json:
                    with open(args.json, "w") as f:
                        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
