# Reading a messy upload: na_values, converters that strip "$" and ",", usecols, dtype.
import pandas as pd

raw = pd.read_csv("survey.csv")
print(raw.dtypes)
df = pd.read_csv("survey.csv", na_values=["N/A", "not sure", "prefer not to say"], keep_default_na=True,
                 usecols=["respondent", "age", "city", "income", "satisfaction"],
                 converters={"income": lambda v: float(v.replace("$", "").replace(",", "")) if v not in ("", "prefer not to say") else None},
                 dtype={"respondent": "string"})
print(df.dtypes)
print(df.head(10))
print(df["age"].mean(), df["income"].median())
print(df.isna().sum())
