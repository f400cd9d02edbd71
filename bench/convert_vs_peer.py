#!/usr/bin/python3
"""Whole-process conversion benchmark: c2s against the Python reference peer.

Measures `c2s convert IN -o OUT.c2s` (read + preprocess + sentences + write)
against ../shared/peers/c2s_reference.py (the published C2S algorithm with
numpy/scipy/anndata) on the same input files in the same run:
  1. the 12k Kang file (../shared/data/kang2018_muscat_kang_se_12k.h5ad),
  2. a simulated CELLS x GENES h5ad (`c2s simulate`, cached under --work).
Each program runs as a child process; we take the wall time around it
(time.perf_counter) and its peak RSS (os.wait4 -> ru_maxrss). The page cache
is warmed first and the two programs alternate. Both must exit 0 and agree on
cells, genes and nonzeros after preprocessing.

With --scaling 20000,200000 it also converts simulated files of those cell
counts (same genes, c2s only) to show how c2s's peak memory scales with cells.

Run from the repository root (2.85 GB of disk in --work; the peer needs about
12 GiB of RAM on the 200k file):
    bench/convert_vs_peer.py --json /tmp/c2s-bench/results.json --scaling 20000,200000
"""
import argparse, datetime, json, os, statistics, subprocess, sys, time

C2S = "build/c2s"
PEER = "../shared/peers/c2s_reference.py"
KANG = "../shared/data/kang2018_muscat_kang_se_12k.h5ad"


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem_kib = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()
    stamp = lambda t: datetime.datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")
    return dict(nproc=os.cpu_count(), cpu=cpu, mem_gib=round(mem_kib / 2**20, 1),
                commit=git("rev-parse", "--short", "HEAD"),
                src_modified=bool(git("status", "--porcelain", "-uno", "--", "src", "CMakeLists.txt")),
                c2s_built=stamp(os.path.getmtime(C2S)),
                date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"))


def warm(path):
    """Read the file once so that every run starts with it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def simulated(work, cells, genes):
    path = os.path.join(work, f"sim_{cells}x{genes}.h5ad")
    if not os.path.exists(path):  # c2s writes through a temporary file, so a present file is whole
        print(f"simulating {cells} x {genes} -> {path}", file=sys.stderr)
        subprocess.run([C2S, "simulate", "-n", str(cells), "--genes", str(genes), "--seed", "0",
                        "-o", path, "-q"], check=True)
    return path


def run_child(cmd, work):
    """Run cmd; return (wall seconds, peak RSS MiB, stdout text). Exits on failure."""
    out_path, err_path = os.path.join(work, "child.stdout"), os.path.join(work, "child.stderr")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = code = os.waitstatus_to_exitcode(status)
    text, err_text = open(out_path).read(), open(err_path).read()
    os.remove(out_path), os.remove(err_path)
    if code != 0:
        sys.exit(f"FAILED (exit {code}): {' '.join(cmd)}\n{err_text[-2000:]}")
    return wall, usage.ru_maxrss / 1024, text


def run_c2s(path, args):
    out = os.path.join(args.work, "bench.c2s")
    wall, rss, text = run_child([C2S, "--threads", str(args.threads), "convert", path,
                                 "-o", out, "-q", "--json"], args.work)
    j = json.loads(text)
    size = os.path.getsize(out)
    os.remove(out)
    return dict(wall=wall, rss=rss, stages=j["seconds"], store_bytes=size, cells=j["cells"],
                genes=j["genes"], nonzeros=j["entries"], slope=j["inverse_model"]["slope"])


def run_peer(path, args):
    prefix = os.path.join(args.work, "peer")
    wall, rss, text = run_child([sys.executable, PEER, path, prefix], args.work)
    j = json.loads([l for l in text.splitlines() if l.startswith("{")][-1])
    for ext in (".sentences.txt", ".fit.json"):
        os.remove(prefix + ext)
    return dict(wall=wall, rss=rss, stages=j["seconds"], cells=j["cells"], genes=j["genes"],
                nonzeros=j["nnz"], slope=j["slope"])


def summary(runs):
    if not runs:
        return None
    walls = [r["wall"] for r in runs]
    order = ["read_and_rank", "write", "inverse_fit", "read", "preprocess", "sentences", "fit", "total"]
    keys = sorted(runs[0]["stages"], key=lambda k: order.index(k) if k in order else len(order))
    stages = {k: statistics.median(r["stages"][k] for r in runs) for k in keys}
    s = dict(wall=walls, wall_median=statistics.median(walls), wall_min=min(walls), wall_max=max(walls),
             rss_mib=[r["rss"] for r in runs], rss_mib_max=max(r["rss"] for r in runs),
             stages_median=stages, slope=runs[0]["slope"])
    s.update({k: runs[0][k] for k in ("cells", "genes", "nonzeros", "store_bytes") if k in runs[0]})
    return s


def bench(name, path, args, peer=True):
    warm(path)
    c2s, ref = [], []
    for i in range(max(args.reps, args.peer_reps if peer else 0)):
        if i < args.reps:
            c2s.append(run_c2s(path, args))
            print(f"  {name}: c2s  {c2s[-1]['wall']:8.2f} s {c2s[-1]['rss']:8.0f} MiB", file=sys.stderr)
        if peer and i < args.peer_reps:
            ref.append(run_peer(path, args))
            print(f"  {name}: peer {ref[-1]['wall']:8.2f} s {ref[-1]['rss']:8.0f} MiB", file=sys.stderr)
    res = dict(dataset=name, input=path, input_bytes=os.path.getsize(path), c2s=summary(c2s), peer=summary(ref))
    if ref:
        a, b = res["c2s"], res["peer"]
        res["counts_agree"] = all(a[k] == b[k] for k in ("cells", "genes", "nonzeros"))
        res["speedup"] = b["wall_median"] / a["wall_median"]
        res["rss_ratio"] = b["rss_mib_max"] / a["rss_mib_max"]
        if not res["counts_agree"]:
            print(f"MISMATCH on {name}: c2s {[a[k] for k in ('cells', 'genes', 'nonzeros')]} "
                  f"peer {[b[k] for k in ('cells', 'genes', 'nonzeros')]}", file=sys.stderr)
    return res


def fmt(x, spec, suffix=""):
    return "-" if x is None else f"{x:{spec}}{suffix}"


def markdown(results, scaling, m):
    print(f"Machine: {m['nproc']} cores, {m['cpu']}, {m['mem_gib']} GiB; c2s {m['commit']}"
          f"{' (modified src/)' if m['src_modified'] else ''}, binary built {m['c2s_built']}; {m['date']}\n")
    print("| dataset | cells x genes (kept) | nonzeros | c2s s median (min-max) | peer s | peer/c2s "
          "| c2s peak MiB | peer peak MiB | peer/c2s | counts agree |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        a, b = r["c2s"], r["peer"] or {}
        print(f"| {r['dataset']} | {a['cells']} x {a['genes']} | {a['nonzeros']} "
              f"| {a['wall_median']:.2f} ({a['wall_min']:.2f}-{a['wall_max']:.2f}) "
              f"| {fmt(b.get('wall_median'), '.2f')} | {fmt(r.get('speedup'), '.1f', 'x')} "
              f"| {a['rss_mib_max']:.0f} | {fmt(b.get('rss_mib_max'), '.0f')} "
              f"| {fmt(r.get('rss_ratio'), '.1f', 'x')} | {r.get('counts_agree', '-')} |")
    print("\n| dataset | c2s stages s (median) | peer stages s | c2s slope | peer slope |")
    print("|---|---|---|---|---|")
    for r in results:
        st = lambda s: ", ".join(f"{k} {v:.2f}" for k, v in s["stages_median"].items()) if s else "-"
        print(f"| {r['dataset']} | {st(r['c2s'])} | {st(r['peer'])} | {r['c2s']['slope']:.4f} "
              f"| {fmt((r['peer'] or {}).get('slope'), '.4f')} |")
    if scaling:
        print("\n| simulated cells | input GB | store MB | c2s s median | c2s peak MiB (min-max) |")
        print("|---|---|---|---|---|")
        for r in scaling:
            a = r["c2s"]
            print(f"| {r['dataset']} | {r['input_bytes'] / 1e9:.2f} | {a['store_bytes'] / 1e6:.0f} "
                  f"| {a['wall_median']:.2f} | {a['rss_mib_max']:.0f} "
                  f"({min(a['rss_mib']):.0f}-{a['rss_mib_max']:.0f}) |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=200000)
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--work", default="/tmp/c2s-bench")
    ap.add_argument("--reps", type=int, default=3, help="c2s runs per dataset")
    ap.add_argument("--peer-reps", type=int, default=1, help="peer runs per dataset")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="c2s --threads")
    ap.add_argument("--scaling", default="", help="comma-separated cell counts for a c2s memory-scaling table")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if args.skip_peer:
        args.peer_reps = 0
    os.makedirs(args.work, exist_ok=True)
    m = machine()
    sim = simulated(args.work, args.cells, args.genes)
    results = [bench("Kang 12k", KANG, args), bench(f"simulated {args.cells}", sim, args)]
    scaling = [bench(str(n), simulated(args.work, n, args.genes), args, peer=False)
               for n in (int(x) for x in args.scaling.split(",") if x)]
    markdown(results, scaling, m)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=m, args=vars(args), results=results, scaling=scaling), f, indent=1)
    if not all(r.get("counts_agree", True) for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
