#!/usr/bin/python3
"""How much of a label a truncated cell sentence still holds: a linear probe.

Reads `c2s export STORE --top-k 0` JSON lines (every expressed gene, most
expressed first, with the obs columns and `split`), and for each top-k fits
scikit-learn's logistic regression (C=1) on the train split's sentences and
scores the test split. Features per gene: 1 if the gene is among the cell's
first k words (`presence`), or the inverse model's expression at its rank,
intercept + slope * log10(1 + rank) (`rank`), from `c2s info STORE`.

  c2s export kang.c2s --top-k 0 -o kang-all.jsonl
  bench/sentence_probe.py kang-all.jsonl --label cell_type --intercept 1.7213 --slope -0.6079
"""
import argparse
import json

import numpy as np
from sklearn.linear_model import LogisticRegression


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sentences")
    p.add_argument("--label", default="cell_type")
    p.add_argument("--top-k", default="50,100,200,300,0", help="comma-separated; 0 = every gene")
    p.add_argument("--intercept", type=float, required=True)
    p.add_argument("--slope", type=float, required=True)
    a = p.parse_args()
    rows = [json.loads(line) for line in open(a.sentences)]
    sentences = [r["cell_sentence"].split() for r in rows]
    genes = sorted({g for s in sentences for g in s})
    index = {g: i for i, g in enumerate(genes)}
    split = np.array([r["split"] for r in rows])
    y = np.array([r[a.label] for r in rows])
    train, test = split == "train", split == "test"
    lengths = np.array([len(s) for s in sentences])
    print(f"{len(rows)} cells, {len(genes)} genes, genes per cell: mean {lengths.mean():.0f}, "
          f"median {np.median(lengths):.0f}, max {lengths.max()}; train {train.sum()}, test {test.sum()}")
    print("top_k\tfeatures\taccuracy")
    for k in [int(v) for v in a.top_k.split(",")]:
        for kind in ("presence", "rank"):
            x = np.zeros((len(rows), len(genes)), np.float32)
            for i, s in enumerate(sentences):
                for r, g in enumerate(s[:k] if k > 0 else s):
                    x[i, index[g]] = 1.0 if kind == "presence" else a.intercept + a.slope * np.log10(1 + r)
            model = LogisticRegression(C=1.0, max_iter=3000).fit(x[train], y[train])
            accuracy = (model.predict(x[test]) == y[test]).mean()
            print(f"{k if k > 0 else 'all'}\t{kind}\t{accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
