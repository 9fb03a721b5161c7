#!/usr/bin/env python3
"""Writes the calibration corpus's data files into tests/corpus/data/ (see tests/corpus/README.md).

The four classification sets are scikit-learn's bundled copies of UCI datasets (iris, wine,
breast cancer Wisconsin (diagnostic), optical recognition of handwritten digits), written with
their raw feature scales: healthy suites standardize them (`data.normalize: standardize`), planted
ones may not. The regression file is synthetic (seeded). Needs numpy and scikit-learn; only for
regenerating the files, never for the tests.

    python3 scripts/corpus_data.py
"""

import csv
import os

import numpy as np
from sklearn import datasets

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "data")


def write(name, header, rows):
    path = os.path.join(OUT, name)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {os.path.normpath(path)}: {len(rows)} rows, {len(header)} columns")


def fmt(v):
    # Short but exact enough: the raw UCI values have at most 4 significant decimals.
    return f"{v:.6g}"


def classification(name, bunch, label="label"):
    x, y = bunch.data, bunch.target
    header = [f"f{i}" for i in range(x.shape[1])] + [label]
    rows = [[fmt(v) for v in xi] + [int(yi)] for xi, yi in zip(x, y)]
    write(name, header, rows)


def planted_files():
    # Files with one planted data problem each, for tests/corpus/planted/.
    cancer = datasets.load_breast_cancer()
    # sklearn's target: 0 malignant, 1 benign. Keep every benign case and the first 30
    # malignant ones (12:1).
    keep = np.concatenate([np.flatnonzero(cancer.target == 1), np.flatnonzero(cancer.target == 0)[:30]])
    keep.sort()
    x, y = cancer.data[keep], cancer.target[keep]
    header = [f"f{i}" for i in range(x.shape[1])] + ["diagnosis"]
    write("breast_cancer_imbalanced.csv", header, [[fmt(v) for v in xi] + [int(yi)] for xi, yi in zip(x, y)])
    iris = datasets.load_iris()
    rows = [[fmt(v) for v in xi] + [int(yi)] for xi, yi in zip(iris.data, iris.target)]
    header = [f"f{i}" for i in range(iris.data.shape[1])] + ["species"]
    write("iris_duplicated.csv", header, rows * 3)
    wine = datasets.load_wine()
    header = [f"f{i}" for i in range(wine.data.shape[1])] + ["f13", "cultivar"]
    rows = [[fmt(v) for v in xi] + ["1", int(yi)] for xi, yi in zip(wine.data, wine.target)]
    write("wine_constant.csv", header, rows)


def regression():
    # y = sin(x0) + 0.5·x1² − 0.3·x2·x3 + noise, four features on different but sane scales.
    rng = np.random.default_rng(19)
    n = 400
    x = rng.normal(size=(n, 4)) * np.array([1.0, 0.8, 1.5, 0.6])
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] ** 2 - 0.3 * x[:, 2] * x[:, 3] + 0.05 * rng.normal(size=n)
    header = ["x0", "x1", "x2", "x3", "y"]
    rows = [[fmt(v) for v in xi] + [fmt(yi)] for xi, yi in zip(x, y)]
    write("synthetic_regression.csv", header, rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    classification("iris.csv", datasets.load_iris(), "species")
    classification("wine.csv", datasets.load_wine(), "cultivar")
    classification("breast_cancer.csv", datasets.load_breast_cancer(), "diagnosis")
    classification("digits.csv", datasets.load_digits(), "digit")
    regression()
    planted_files()


if __name__ == "__main__":
    main()
