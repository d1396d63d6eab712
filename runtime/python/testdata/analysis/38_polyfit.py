# Trend lines: np.polyfit of degree 1 and 2 on monthly revenue, evaluation and residuals.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"]
monthly = df.groupby(df["date"].dt.month)["revenue"].sum()
x = monthly.index.to_numpy(dtype=float)
y = monthly.to_numpy()
slope, intercept = np.polyfit(x, y, 1)
print(slope, intercept)
p2 = np.polyfit(x, y, 2)
print(p2)
print(np.polyval(p2, [7, 8]))
fit, cov = np.polyfit(x, y, 1, cov=True)
print(np.sqrt(np.diag(cov)))
print(np.poly1d(np.round(p2, 2)))
P = np.polynomial.Polynomial.fit(x, y, 1)
print(P.convert().coef)
print(np.roots([1, -3, 2]), np.corrcoef(x, y)[0, 1])
