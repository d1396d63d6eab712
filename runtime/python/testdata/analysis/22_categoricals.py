# Ordered categories from a survey: sorting by order, codes, comparisons, unused categories.
import pandas as pd

df = pd.read_csv("survey.csv")
levels = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]
df["satisfaction"] = pd.Categorical(df["satisfaction"], categories=levels, ordered=True)
print(df["satisfaction"].dtype)
print(df["satisfaction"].value_counts(sort=False))
print(df.sort_values("satisfaction")[["respondent", "satisfaction"]].head(6))
print((df["satisfaction"] >= "Satisfied").mean())
print(df["satisfaction"].cat.codes.head(8).tolist())
print(df["satisfaction"].min(), "|", df["satisfaction"].max())
city = df["city"].str.strip().str.title().astype("category")
print(city.cat.categories)
print(pd.crosstab(city, df["satisfaction"]))
print(df.groupby("satisfaction", observed=False)["respondent"].count())
c = pd.Series(["b", "a", "b"], dtype="category").cat.add_categories(["z"])
print(c.cat.remove_unused_categories().cat.categories.tolist(), c.memory_usage(deep=False) > 0)
