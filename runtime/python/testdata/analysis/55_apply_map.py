# Row-wise and element-wise functions: apply, map with dicts, agg with lambdas.
import pandas as pd

df = pd.read_csv("sales.csv")
price_band = {"Electronics": "high", "Furniture": "mid", "Office": "low"}
df["band"] = df["category"].map(price_band)
df["label"] = df.apply(lambda r: f"{r['product']} x{r['units']}", axis=1)
print(df[["band", "label"]].head())
print(df[["units", "unit_price"]].map(lambda v: round(v ** 0.5, 3)).head(3))
print(df.groupby("region")["units"].apply(lambda s: (s > 2).mean()))
print(df.groupby("category").agg(spread=("unit_price", lambda s: s.max() - s.min()), n=("units", "size")))
print(df["product"].map(len).max(), df.pipe(lambda d: d[d["units"] > 10]).shape)
