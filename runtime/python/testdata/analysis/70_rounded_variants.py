# The figures of the raw snippets that differ in their last digits (a trend line, correlations,
# a kurtosis), printed with the rounding a report would use.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"]
monthly = df.groupby(df["date"].dt.month)["revenue"].sum()
x = monthly.index.to_numpy(dtype=float)
slope, intercept = np.polyfit(x, monthly.to_numpy(), 1)
print(f"trend: {slope:.2f} per month, starting at {intercept:.2f}")
print(np.round(np.polyfit(x, monthly.to_numpy(), 2), 8))
print(round(np.corrcoef(x, monthly.to_numpy())[0, 1], 10))
print(round(df["units"].corr(df["revenue"]), 10), round(df["units"].autocorr(lag=1), 10))
print(round(df["unit_price"].kurt(), 10), round(df["units"].skew(), 10))
print(df[["units", "unit_price", "revenue"]].agg(["skew", "kurt"]).round(6))
A = np.array([[4.2, -1.3, 0.7, 2.1], [1.1, 3.9, -2.2, 0.4], [0.3, -0.8, 5.6, -1.7], [2.5, 0.6, -1.1, 4.8]])
b = np.array([12.4, -3.3, 7.9, 10.05])
print("max residual below 1e-12:", np.abs(A @ np.linalg.solve(A, b) - b).max() < 1e-12)
