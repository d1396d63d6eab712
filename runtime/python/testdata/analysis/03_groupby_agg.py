# Revenue by region and category with several aggregations, named aggregation and a multi-key sort.
import pandas as pd

df = pd.read_csv("sales.csv")
df["revenue"] = df["units"] * df["unit_price"] * (1 - df["discount"].fillna(0))
by_region = df.groupby("region").agg({"revenue": ["sum", "mean", "max"], "units": "sum", "order_id": "count"})
print(by_region)
summary = (
    df.groupby(["region", "category"])
    .agg(orders=("order_id", "count"), units=("units", "sum"), revenue=("revenue", "sum"),
         avg_price=("unit_price", "mean"), median_units=("units", "median"), std_rev=("revenue", "std"))
    .sort_values(["region", "revenue"], ascending=[True, False])
)
print(summary)
print(summary.round(1).to_string())
