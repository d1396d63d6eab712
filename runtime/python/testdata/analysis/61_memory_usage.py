# How much memory a table takes: memory_usage, deep=True, and savings from categories.
import pandas as pd

df = pd.read_csv("sales.csv")
print(df.memory_usage())
print(df.memory_usage(deep=True))
print(df.memory_usage(deep=True).sum())
cat = df.astype({"region": "category", "category": "category", "product": "category"})
print(cat.memory_usage(deep=True).sum())
print(df["units"].nbytes, df.index.nbytes, df["units"].astype("int8").nbytes)
df.info(memory_usage="deep")
