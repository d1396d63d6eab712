# Contingency tables: crosstab with margins and normalisation, and a chi-square statistic by hand.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv")
ct = pd.crosstab(df["region"], df["category"], margins=True)
print(ct)
print(pd.crosstab(df["region"], df["category"], normalize="index").round(3))
print(pd.crosstab(df["region"], df["category"], values=df["units"], aggfunc="mean"))
obs = pd.crosstab(df["region"], df["category"]).to_numpy()
exp = obs.sum(1, keepdims=True) * obs.sum(0, keepdims=True) / obs.sum()
chi2 = ((obs - exp) ** 2 / exp).sum()
print(chi2, (obs.shape[0] - 1) * (obs.shape[1] - 1))
