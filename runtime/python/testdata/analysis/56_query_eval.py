# Filtering with query and computing with eval, isin, between, boolean masks.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
min_units = 4
q = df.query("region in ['North', 'East'] and units >= @min_units and unit_price < 100")
print(q[["order_id", "region", "product", "units"]])
df = df.eval("revenue = units * unit_price * (1 - discount)")
print(df["revenue"].head())
print(df[df["date"].between("2024-03-01", "2024-03-15")].shape)
print(df[df["product"].isin(["Desk", "Chair"]) & ~df["discount"].isna()]["unit_price"].mean())
print(df.loc[(df["units"] > 3) | (df["unit_price"] > 800), "order_id"].count())
