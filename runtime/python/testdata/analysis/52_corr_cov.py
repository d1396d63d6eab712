# Correlation and covariance matrices of a pandas table, Pearson and Spearman.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv")
df["revenue"] = df["units"] * df["unit_price"]
num = df[["units", "unit_price", "discount", "revenue"]]
print(num.corr())
print(num.corr(method="spearman").round(3))
print(num.cov())
print(df["units"].corr(df["revenue"]), df["units"].autocorr(lag=1))
print(np.corrcoef(num.dropna().to_numpy().T))
print(np.cov(df["units"], df["unit_price"]))
