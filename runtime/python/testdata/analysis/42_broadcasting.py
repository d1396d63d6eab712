# Broadcasting: normalising columns, pairwise distances, outer products, z-scores of a table.
import numpy as np
import pandas as pd

X = np.array([[1.0, 200.0, 3.0], [2.0, 180.0, 4.5], [0.5, 240.0, 2.0], [1.5, 210.0, 3.5]])
Z = (X - X.mean(axis=0)) / X.std(axis=0)
print(Z)
D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1))
print(D)
print(np.outer([1, 2, 3], [10, 20]), np.arange(3)[:, None] + np.arange(4))
print((X / X.sum(axis=1, keepdims=True)).round(4))
df = pd.read_csv("sales.csv")
num = df[["units", "unit_price"]]
print(((num - num.mean()) / num.std()).head())
print(num.div(num.max()).head(3), num.sub(num.median(), axis=1).abs().mean())
try:
    np.ones((2, 3)) + np.ones((3, 2))
except ValueError as e:
    print("ValueError:", e)
