# Cleaning text columns with .str: strip, case, contains, extract, split, replace, len.
import pandas as pd

df = pd.read_csv("survey.csv", keep_default_na=False)
city = df["city"].str.strip().str.title()
print(city.value_counts())
c = df["comment"]
print(c.str.len().describe())
print(c[c.str.contains("deliver", case=False)].tolist())
print(c.str.extract(r"(\d+)").dropna().astype(int)[0].tolist())
print(c.str.lower().str.replace(r"[^a-z ]", "", regex=True).str.split().str.len().head(10).tolist())
income = df["income"].str.replace(r"[$,]", "", regex=True)
print(pd.to_numeric(income, errors="coerce").describe())
print(df["respondent"].str.zfill(5).head(3).tolist(), df["respondent"].str[1:].astype(int).sum())
print(df["satisfaction"].str.split(" ", n=1, expand=True).fillna("").head(5))
print(c.str.title().str.center(20, "*").head(3).tolist())
print(df["city"].str.strip().str.casefold().str.startswith("l").sum())
