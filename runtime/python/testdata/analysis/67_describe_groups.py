# Grouped describe and per-group summaries of dates and strings.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
print(df.groupby("category")["units"].describe())
print(df.groupby("region")["date"].describe())
print(df[["product", "region"]].describe())
print(df.groupby("region")["unit_price"].agg(["mean", "sem", "skew", "var"]).round(4))
print(df["unit_price"].kurt(), df["units"].skew(), df["units"].sem())
