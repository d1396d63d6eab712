# First look at an uploaded CSV: shape, head, dtypes and info().
import pandas as pd

df = pd.read_csv("sales.csv")
print(df.shape)
print(df.head(10))
print(df.dtypes)
df.info()
