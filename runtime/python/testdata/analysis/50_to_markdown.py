# Tables for a report or a chat answer: to_markdown with tabulate's formats.
import pandas as pd

df = pd.read_csv("sales.csv")
df["revenue"] = df["units"] * df["unit_price"]
t = df.groupby("region").agg(orders=("order_id", "count"), units=("units", "sum"), revenue=("revenue", "sum"))
print(t.to_markdown())
print(t.to_markdown(floatfmt=",.2f"))
print(t.reset_index().to_markdown(index=False, tablefmt="github"))
print(t.head(2).to_markdown(tablefmt="grid"))
print(df[["product", "unit_price"]].drop_duplicates().sort_values("unit_price").to_markdown(index=False, tablefmt="pipe"))
from tabulate import tabulate
print(tabulate([["pi", 3.14159265], ["e", 2.718281828], ["big", 12345678.9]], headers=["name", "value"], floatfmt=".4f"))
