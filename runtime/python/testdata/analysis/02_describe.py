# Summary statistics of the numeric columns and of everything.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"] * (1 - df["discount"].fillna(0))
print(df.describe())
print(df.describe(include="all").T)
print(df[["units", "revenue"]].describe(percentiles=[0.05, 0.5, 0.95]).round(2))
