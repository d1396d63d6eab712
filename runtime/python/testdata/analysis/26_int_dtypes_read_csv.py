# Which integer type an analyst gets from read_csv, arithmetic and conversions.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv")
print(df["units"].dtype, df["order_id"].dtype, df.select_dtypes("number").columns.tolist())
print(df["units"].sum(), type(df["units"].sum()).__name__)
print((df["units"] * 10**9).sum())
print(df["units"].to_numpy().dtype, df.index.dtype)
print(pd.Series([1, 2, None]).dtype, pd.Series([1, 2, None], dtype="Int64").sum())
print(df["units"].astype(int).dtype, df["units"].astype("int32").dtype)
print(np.asarray(df["units"].tolist()).dtype)
print(pd.Series(range(3)).dtype, pd.RangeIndex(5).dtype)
print(df.groupby("region").size().dtype, df["region"].nunique(), type(df["region"].nunique()).__name__)
