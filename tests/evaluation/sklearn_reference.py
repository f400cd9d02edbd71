"""Reference results for the evaluation tests, from numpy / scikit-learn.

Run by the tests with Debian's /usr/bin/python3:
  sklearn_reference.py MODE OUT.json INPUTS...
Matrices come as .npy (float32), label vectors as .npy of class indices.
"""
import json
import os
import sys

# One BLAS thread: the matrices are small, and on this 2-core machine,
# often busy, numpy's OpenMP threads waiting for each other made a 400 x 90
# SVD take 3.4 s instead of 3 ms. Read when numpy loads its BLAS.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def pca(x_path, k):
    x = np.load(x_path).astype(np.float64)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    n = x.shape[0]
    ev = s ** 2 / (n - 1)
    total = centred.var(axis=0, ddof=1).sum()
    k = int(k)
    return {"singular_values": s[:k].tolist(), "explained_variance": ev[:k].tolist(),
            "explained_variance_ratio": (ev[:k] / total).tolist(), "components": vt[:k].tolist()}


def logreg(x_path, y_path, test_path, c, solver="lbfgs", tol="1e-4", max_iter="2000"):
    from sklearn.linear_model import LogisticRegression
    x = np.load(x_path).astype(np.float64)
    y = np.load(y_path).astype(np.int64).ravel()
    test = np.load(test_path).astype(np.float64)
    model = LogisticRegression(C=float(c), solver=solver, tol=float(tol), max_iter=int(max_iter)).fit(x, y)
    return {"classes": model.classes_.tolist(), "coef": model.coef_.tolist(), "intercept": model.intercept_.tolist(),
            "proba": model.predict_proba(test).tolist(), "predict": model.predict(test).tolist()}


def knn(x_path, y_path, test_path, k):
    from sklearn.neighbors import KNeighborsClassifier
    x = np.load(x_path)
    y = np.load(y_path).astype(np.int64).ravel()
    test = np.load(test_path)
    model = KNeighborsClassifier(int(k), algorithm="brute").fit(x, y)
    return {"predict": model.predict(test).tolist(), "proba": model.predict_proba(test).max(axis=1).tolist()}


def metrics(in_path):
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
    d = json.load(open(in_path))
    truth, pred, labels = d["truth"], d["predicted"], d["labels"]
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0)
    present = [l for l in labels if l in set(truth)]
    return {"accuracy": accuracy_score(truth, pred), "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(),
            "support": s.tolist(), "macro_f1": f1_score(truth, pred, labels=present, average="macro", zero_division=0),
            "confusion": confusion_matrix(truth, pred, labels=labels).tolist()}


def mmd(x_path, y_path):
    x = np.load(x_path).astype(np.float64)
    y = np.load(y_path).astype(np.float64)
    pooled = np.vstack([x, y])
    d2 = ((pooled[:, None, :] - pooled[None, :, :]) ** 2).sum(-1)
    iu = np.triu_indices(len(pooled), 1)
    sigma = np.sqrt(np.median(d2[iu]))
    k = np.exp(-d2 / (2 * sigma ** 2))
    m, n = len(x), len(y)
    kxx, kyy, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    value = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
             - 2 * kxy.mean())
    return {"mmd2": value, "bandwidth": sigma}


def expression(store_path, cells_path):
    import h5py
    f = h5py.File(store_path, "r")
    n_genes = len(f["genes/names"])
    off, ro = f["cells/offsets"][:], f["cells/run_offsets"][:]
    genes, rv, rl = f["cells/genes"][:], f["cells/run_values"][:], f["cells/run_lengths"][:]
    cells = np.load(cells_path).astype(np.int64).ravel()
    base = json.loads(f.attrs["provenance"])["preprocessing"]["log_base"]
    x = np.zeros((len(cells), n_genes))
    for row, c in enumerate(cells):
        values = np.repeat(rv[ro[c]:ro[c + 1]], rl[ro[c]:ro[c + 1]])
        x[row, genes[off[c]:off[c + 1]]] = values * np.log(base)
    return {"matrix": x.tolist(), "variance_order": np.argsort(-x.var(axis=0), kind="stable").tolist()}


if __name__ == "__main__":
    mode, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    result = {"pca": pca, "logreg": logreg, "knn": knn, "metrics": metrics, "mmd": mmd, "expression": expression}[mode](*args)
    with open(out, "w") as f:
        json.dump(result, f)
