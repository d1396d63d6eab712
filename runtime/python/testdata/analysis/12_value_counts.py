# Frequencies: counts, normalised shares, bins, and counts of pairs.
import pandas as pd

df = pd.read_csv("sales.csv")
print(df["region"].value_counts())
print(df["category"].value_counts(normalize=True))
print(df["product"].value_counts(normalize=True).round(3))
print(df["units"].value_counts(bins=4, sort=False))
print(df["discount"].value_counts(dropna=False))
print(df[["region", "category"]].value_counts().head(6))
print((df["customer_id"].value_counts(normalize=True) * 100).head(5))
