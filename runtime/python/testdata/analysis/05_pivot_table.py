# Monthly revenue per region as a pivot table with totals, and units per category and store.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"]
df["month"] = df["date"].dt.to_period("M")
p = pd.pivot_table(df, index="month", columns="region", values="revenue", aggfunc="sum", margins=True, margins_name="Total", fill_value=0)
print(p)
print(p.round(0).astype(int))
q = df.pivot_table(index="category", columns="store", values="units", aggfunc=["sum", "mean"], fill_value=0)
print(q)
