#!/usr/bin/python3
"""Tokenizer encode throughput: c2s against Hugging Face `tokenizers`.

Both encode the same texts with the same tokenizer.json (GPT-NeoX, the
tokenizer of the Pythia / C2S-Pythia models) in the same run:
  - c2s: build/tokenizer_throughput (bench/tokenizer_throughput.cpp): one
    thread, text by text (Tokenizer::encode), then encode_batch on the pool;
  - peer: the Rust library through the npm package @anush008/tokenizers
    (bench/hf_tokenize.js, encodeBatch), with RAYON_NUM_THREADS=1 and with
    all cores.
Texts:
  - prompts: cell type prediction prompts of 200 genes, `c2s prompts` on the
    Kang 12k data (../shared/data), one per cell with >= 200 genes;
  - mixed: the texts of ../shared/golden/tokenizers/gpt-neox/cases.jsonl
    (prose, whitespace, accents, CJK, emoji, random strings) repeated.
Each side encodes every text REPS + 1 times. The first pass starts with
empty word caches (both libraries cache words) and is reported on its own
("first pass"); the others are reported as their median. Both must produce the
same ids (a checksum over all ids is compared).

The npm package is installed once into --work (npm registry; this is the
only download, and only the benchmark does it).
Run from the repository root:
    bench/tokenize_vs_hf.py --json /tmp/c2s-tok-bench/results.json
"""
import argparse, datetime, json, os, statistics, subprocess, sys

C2S = "build/c2s"
TOOL = "build/tokenizer_throughput"
KANG = "../shared/data/kang2018_muscat_kang_se_12k.h5ad"
TOKENIZER = "../shared/golden/tokenizers/gpt-neox/tokenizer.json"
CASES = "../shared/golden/tokenizers/gpt-neox/cases.jsonl"
PACKAGE = "@anush008/tokenizers@0.6.0"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()
    return dict(nproc=os.cpu_count(), cpu=cpu, commit=git("rev-parse", "--short", "HEAD"),
                src_modified=bool(git("status", "--porcelain", "-uno", "--", "src", "bench")),
                node=sh(["node", "--version"]).strip(),
                date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"))


def texts(work):
    prompts = os.path.join(work, "prompts.jsonl")
    if not os.path.exists(prompts):
        store = os.path.join(work, "kang.c2s")
        sh([C2S, "convert", KANG, "-o", store, "-q"])
        examples = os.path.join(work, "examples.jsonl")
        sh([C2S, "prompts", store, "--task", "cell_type_prediction", "--top-k", "200", "-o", examples, "-q"])
        with open(examples) as f, open(prompts + ".tmp", "w") as out:
            for line in f:
                ex = json.loads(line)
                if ex["model_input"].count(" ") >= 200:
                    out.write(json.dumps(ex["model_input"]) + "\n")
        os.rename(prompts + ".tmp", prompts)
    mixed = os.path.join(work, "mixed.jsonl")
    if not os.path.exists(mixed):
        cases = [json.loads(l)["text"] for l in open(CASES) if l.strip()]
        with open(mixed, "w") as out:
            for _ in range(400):
                for t in cases:
                    out.write(json.dumps(t) + "\n")
    return {"prompts": prompts, "mixed": mixed}


def node_modules(work):
    prefix = os.path.join(work, "npm")
    mods = os.path.join(prefix, "node_modules")
    if not os.path.isdir(os.path.join(mods, "@anush008", "tokenizers")):
        os.makedirs(prefix, exist_ok=True)
        sh(["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", PACKAGE])
    return mods


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/c2s-tok-bench")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", help="write all figures here")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    mods = node_modules(a.work)
    env = dict(os.environ, C2S_NODE_MODULES=mods)
    results = {"machine": machine(), "threads": a.threads, "sets": {}}
    for name, path in texts(a.work).items():
        c2s = json.loads(sh([TOOL, TOKENIZER, path, str(a.reps), str(a.threads)]))
        hf1 = json.loads(sh(["node", "bench/hf_tokenize.js", TOKENIZER, path, str(a.reps)],
                            env=dict(env, RAYON_NUM_THREADS="1")))
        hfn = json.loads(sh(["node", "bench/hf_tokenize.js", TOKENIZER, path, str(a.reps)],
                            env=dict(env, RAYON_NUM_THREADS=str(a.threads))))
        if not (c2s["tokens"] == hf1["tokens"] == hfn["tokens"] and c2s["checksum"] == hf1["checksum"]):
            sys.exit(f"{name}: c2s and Hugging Face disagree on the ids ({c2s['tokens']} vs {hf1['tokens']} tokens)")
        med = lambda s: statistics.median(s[1:])
        row = dict(texts=c2s["texts"], tokens=c2s["tokens"],
                   c2s_cold=c2s["single_thread_seconds"][0], hf_cold=hf1["seconds"][0],
                   c2s_1=med(c2s["single_thread_seconds"]), c2s_n=med(c2s["pool_seconds"]),
                   hf_1=med(hf1["seconds"]), hf_n=med(hfn["seconds"]),
                   raw=dict(c2s=c2s, hf_1=hf1, hf_n=hfn))
        results["sets"][name] = row
    print(f"| texts | n | tokens | threads | c2s tokens/s | HF tokens/s | c2s texts/s | HF texts/s | c2s / HF |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results["sets"].items():
        for label, c, h in (("1, first pass", r["c2s_cold"], r["hf_cold"]), ("1", r["c2s_1"], r["hf_1"]),
                            (str(a.threads), r["c2s_n"], r["hf_n"])):
            print(f"| {name} | {r['texts']:,} | {r['tokens']:,} | {label} | {r['tokens'] / c:,.0f} | "
                  f"{r['tokens'] / h:,.0f} | {r['texts'] / c:,.0f} | {r['texts'] / h:,.0f} | **{h / c:.2f}x** |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
