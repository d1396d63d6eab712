# Ordinary least squares with np.linalg.lstsq: units sold against price and discount.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv")
X = np.column_stack([np.ones(len(df)), np.log(df["unit_price"]), df["discount"].fillna(0)])
y = df["units"].to_numpy(dtype=float)
coef, resid, rank, sv = np.linalg.lstsq(X, y, rcond=None)
print(coef)
print(resid, rank)
print(sv)
pred = X @ coef
print("R^2 =", 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())
print(np.linalg.qr(X[:4])[1])
