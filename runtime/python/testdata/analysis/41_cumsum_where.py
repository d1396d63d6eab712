# Running totals and conditional columns: cumsum, cumprod, np.where, np.select, clip.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"]
df["running"] = df["revenue"].cumsum()
df["running_by_region"] = df.groupby("region")["revenue"].cumsum()
df["size"] = np.where(df["revenue"] > 500, "large", "small")
df["band"] = np.select([df["units"] >= 10, df["units"] >= 3], ["bulk", "multi"], default="single")
print(df[["date", "region", "revenue", "running", "running_by_region", "size", "band"]].head(10))
print(df["band"].value_counts())
returns = np.array([0.02, -0.01, 0.035, -0.02, 0.01])
print(np.cumprod(1 + returns), np.cumsum(returns))
print(np.where(returns > 0)[0], np.argwhere(returns < 0).ravel())
print(np.clip(returns, -0.015, 0.015), np.maximum.accumulate([3, 1, 4, 1, 5, 9, 2]))
print(df["revenue"].cummax().iloc[-1], df["units"].cumsum().iloc[-1])
