# Percentiles and quantiles with numpy's and pandas' methods, weighted and grouped.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv")
rev = df["units"] * df["unit_price"]
print(np.percentile(rev, [10, 25, 50, 75, 90]))
print(np.quantile(rev.to_numpy(), 0.9, method="nearest"), np.quantile(rev.to_numpy(), 0.9, method="lower"))
print(np.nanpercentile(df["discount"], [50, 95]))
print(rev.quantile([0.25, 0.5, 0.75]))
print(df.groupby("region")["units"].quantile(0.9))
print(df.assign(rev=rev).groupby("category")["rev"].quantile([0.5, 0.95]).unstack())
print(np.median(rev), rev.median(), np.quantile(rev, 0.5, weights=None))
print(np.percentile(np.arange(10), 33, method="weibull"), np.percentile(np.array([1, 2, 3, 4]), 50, method="inverted_cdf"))
