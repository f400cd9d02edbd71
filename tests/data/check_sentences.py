#!/usr/bin/python3
"""Independent check of exported cell sentences (numpy/scipy/anndata, no c2s
code): every sentence must list exactly the cell's nonzero genes after
scanpy-style filtering and median normalisation, in non-increasing order of
the normalised value; with a store, its stored values must equal the
normalised values. Usage: check_sentences.py IN.h5ad SENTENCES.jsonl [STORE]
Exits non-zero with a message on the first mismatch."""
import json
import sys

import anndata
import numpy as np
from scipy import sparse

src, jsonl = sys.argv[1], sys.argv[2]
store = sys.argv[3] if len(sys.argv) > 3 else None
a = anndata.read_h5ad(src)
X = sparse.csr_matrix(a.X, dtype=np.float64)
X.eliminate_zeros()
keep_c = np.ravel((X > 0).sum(1)) >= 200
X = X[keep_c]
keep_g = np.ravel((X > 0).sum(0)) >= 3
X = X[:, keep_g].tocsr()
tot = np.ravel(X.sum(1))
target = np.median(tot[tot > 0])
X = sparse.diags(target / tot) @ X
X.data = np.log1p(X.data) / np.log(10)
X = X.tocsr()
genes = np.array([g.upper() for g in np.asarray(a.var_names)[keep_g]])
cells = np.asarray(a.obs_names)[keep_c]

rows = [json.loads(line) for line in open(jsonl)]
if len(rows) != X.shape[0]:
    sys.exit(f"{len(rows)} sentences for {X.shape[0]} cells")
position = {g: i for i, g in enumerate(genes)}
for i, row in enumerate(rows):
    if row["cell_name"] != cells[i]:
        sys.exit(f"row {i}: cell {row['cell_name']} != {cells[i]}")
    words = row["cell_sentence"].split(" ")
    cols = X.indices[X.indptr[i]:X.indptr[i + 1]]
    vals = X.data[X.indptr[i]:X.indptr[i + 1]]
    expected = set(genes[cols])
    if len(words) != len(set(words)) or set(words) != expected:
        sys.exit(f"cell {cells[i]}: genes differ from the nonzero genes")
    value_of = dict(zip(genes[cols], vals))
    seq = np.array([value_of[w] for w in words])
    if np.any(np.diff(seq) > 1e-12 * np.maximum(1, seq[1:])):
        sys.exit(f"cell {cells[i]}: values increase along the sentence")
if store:
    import h5py
    f = h5py.File(store, "r")
    off, roff = f["cells/offsets"][:], f["cells/run_offsets"][:]
    stored = np.repeat(f["cells/run_values"][:], f["cells/run_lengths"][:])
    for i, row in enumerate(rows):
        value_of = dict(zip(genes[X.indices[X.indptr[i]:X.indptr[i + 1]]], X.data[X.indptr[i]:X.indptr[i + 1]]))
        expected = np.array([value_of[w] for w in row["cell_sentence"].split(" ")])
        got = stored[off[i]:off[i + 1]]
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-6):
            sys.exit(f"cell {cells[i]}: stored values differ from the normalised values")
print(f"ok: {len(rows)} sentences checked")
