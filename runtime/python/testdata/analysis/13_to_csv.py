# Writing results: to_csv to a string and a file with float_format, date_format and na_rep.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"] * (1 - df["discount"].fillna(0))
report = df.groupby(["region", "store"]).agg(revenue=("revenue", "sum"), last_order=("date", "max"),
                                              avg_discount=("discount", "mean")).reset_index()
print(report.to_csv(index=False))
print(report.to_csv(index=False, float_format="%.2f", date_format="%d/%m/%Y", sep=";"))
df.head(5).to_csv("out.csv", index=False, na_rep="NA")
print(open("out.csv").read())
print(df[["unit_price"]].assign(third=df["unit_price"] / 3).head(3).to_csv())
