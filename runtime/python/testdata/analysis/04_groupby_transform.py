# Per-group shares, ranks and running counts with transform, rank and cumcount.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = (df["units"] * df["unit_price"]).round(2)
df["share_of_region"] = df["revenue"] / df.groupby("region")["revenue"].transform("sum")
df["rank_in_store"] = df.groupby("store")["revenue"].rank(ascending=False, method="dense")
df["nth_order_of_customer"] = df.sort_values("date").groupby("customer_id").cumcount() + 1
df["region_mean"] = df.groupby("region")["revenue"].transform("mean")
print(df[["order_id", "region", "store", "revenue", "share_of_region", "rank_in_store", "nth_order_of_customer", "region_mean"]].head(15))
print(df.groupby("region")["share_of_region"].sum())
top = df.loc[df.groupby("region")["revenue"].idxmax(), ["region", "product", "revenue"]]
print(top)
