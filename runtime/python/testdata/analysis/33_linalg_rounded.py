# The linear algebra of the raw snippets, printed with the rounding an analyst would apply.
import numpy as np
import pandas as pd

A = np.array([[4.2, -1.3, 0.7, 2.1], [1.1, 3.9, -2.2, 0.4], [0.3, -0.8, 5.6, -1.7], [2.5, 0.6, -1.1, 4.8]])
b = np.array([12.4, -3.3, 7.9, 10.05])
print(np.round(np.linalg.solve(A, b), 10).tolist())
C = np.array([[2.0, 0.6, 0.3, 0.1], [0.6, 1.5, 0.4, 0.2], [0.3, 0.4, 1.2, 0.5], [0.1, 0.2, 0.5, 0.9]])
print(np.round(np.linalg.inv(C), 10))
print(round(float(np.linalg.det(C)), 10), round(float(np.linalg.cond(C)), 10))
w, v = np.linalg.eigh(C[:3, :3])
print(np.round(w, 10), np.round(np.abs(v), 10))
P = np.array([[0.9, 0.075, 0.025], [0.15, 0.8, 0.05], [0.25, 0.25, 0.5]])
vals = np.linalg.eigvals(P.T)
print(np.round(np.sort(vals.real), 10))
R = np.array([[5.0, 3.0, 0.0, 1.0], [4.0, 0.0, 0.0, 1.0], [1.0, 1.0, 0.0, 5.0], [1.0, 0.0, 0.0, 4.0], [0.0, 1.0, 5.0, 4.0]])
print(np.round(np.linalg.svd(R, compute_uv=False), 10))
df = pd.read_csv("sales.csv")
X = np.column_stack([np.ones(len(df)), np.log(df["unit_price"]), df["discount"].fillna(0)])
coef = np.linalg.lstsq(X, df["units"].to_numpy(dtype=float), rcond=None)[0]
print(np.round(coef, 10))
