# Top-N tables and sorting with ties: nlargest keep="all", stable multi-column sorts, rank methods.
import pandas as pd

df = pd.read_csv("sales.csv")
df["revenue"] = df["units"] * df["unit_price"]
print(df.nlargest(5, "revenue")[["order_id", "product", "revenue"]])
print(df.nlargest(3, "units", keep="all")[["order_id", "product", "units"]])
print(df.nsmallest(4, ["unit_price", "order_id"])[["order_id", "product", "unit_price"]])
t = df[["order_id", "units", "region"]].head(20)
print(t.sort_values("units", kind="stable").head(10))
print(t.sort_values(["units", "region"], ascending=[False, True]).head(10))
r = t["units"]
print(pd.DataFrame({"units": r, "average": r.rank(), "min": r.rank(method="min"), "first": r.rank(method="first"),
                    "dense": r.rank(method="dense"), "pct": r.rank(pct=True)}).head(10))
print(df.groupby("category")["revenue"].nlargest(2))
