# Working with a MultiIndex: selection with loc and xs, swaplevel, sorting, flattening columns.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
g = df.groupby(["region", "store", "category"]).agg(units=("units", "sum"), orders=("order_id", "count"))
print(g.head(8))
print(g.loc["East"])
print(g.xs("Office", level="category"))
print(g.swaplevel(0, 2).sort_index().head(4))
w = df.groupby(["region", "category"]).agg({"units": ["sum", "max"]})
w.columns = ["_".join(c) for c in w.columns]
print(w.head(4))
print(g.index.get_level_values("store").unique().tolist(), g.index.nlevels, g.index.names)
print(g.groupby(level="region").sum())
