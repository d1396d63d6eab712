# Binning: fixed edges with labels, quantile bins, and what falls where.
import pandas as pd

survey = pd.read_csv("survey.csv", na_values=["N/A"])
ages = survey["age"]
groups = pd.cut(ages, bins=[17, 29, 44, 59, 120], labels=["18-29", "30-44", "45-59", "60+"])
print(groups.value_counts(sort=False))
print(pd.cut(ages, bins=4))
print(pd.cut(ages, bins=4, retbins=True)[1])
df = pd.read_csv("sales.csv")
df["revenue"] = df["units"] * df["unit_price"]
df["tier"] = pd.qcut(df["revenue"], q=4, labels=["low", "mid", "high", "top"])
print(df.groupby("tier", observed=True)["revenue"].agg(["count", "min", "max"]))
print(pd.qcut(df["revenue"], q=[0, 0.1, 0.5, 0.9, 1]).value_counts(sort=False))
print(pd.cut([0, 1, 5, 10], bins=[0, 5, 10], right=False, include_lowest=True))
