# Codes for labels: np.unique with counts and inverse, pd.factorize, get_dummies.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv")
vals, idx, inv, counts = np.unique(df["region"].to_numpy(), return_index=True, return_inverse=True, return_counts=True)
print(vals, idx, counts, inv[:10], inv.dtype, counts.dtype)
codes, uniques = pd.factorize(df["product"])
print(codes[:10], codes.dtype, uniques.tolist())
print(pd.get_dummies(df[["region", "units"]].head(6), columns=["region"], dtype=int))
print(pd.get_dummies(df["category"].head(4)))
print(np.unique(np.array([3, 1, 2, 3, 1]), return_counts=True))
print(df["region"].astype("category").cat.codes.dtype, np.searchsorted([1, 3, 5, 7], [2, 6]).dtype)
