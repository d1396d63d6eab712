# Month-over-month growth: shift, diff, pct_change, and lagged features per group.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"]
m = df.groupby([df["date"].dt.to_period("M"), "region"])["revenue"].sum().unstack()
print(m)
print(m.pct_change().round(4))
print(m.diff())
print(m.shift(1).add_suffix("_prev").head(3))
long = m.stack().rename("rev").reset_index()
long["prev"] = long.groupby("region")["rev"].shift()
long["growth"] = (long["rev"] / long["prev"] - 1) * 100
print(long.head(8))
print(m.sum(axis=1).pct_change(periods=2))
