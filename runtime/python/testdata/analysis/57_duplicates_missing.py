# Data quality: duplicates, missing values per column, dropna variants, unique counts.
import pandas as pd

df = pd.read_csv("survey.csv", na_values=["N/A", "not sure", "prefer not to say"])
print(df.isna().sum())
print(df.isna().mean().round(3))
print(df.duplicated(subset=["city", "satisfaction"]).sum())
print(df.drop_duplicates(subset=["satisfaction"], keep="last")[["respondent", "satisfaction"]])
print(df.dropna(subset=["age", "income"]).shape, df.dropna(thresh=6).shape, df.dropna().shape)
print(df.nunique())
print(df.notna().all(axis=1).sum(), df["comment"].fillna("(none)").value_counts().head(3))
