# Reshaping: wide to long with melt, back with pivot, and stack/unstack of a MultiIndex.
import pandas as pd

wide = pd.read_excel("budget.xlsx", sheet_name="Headcount")
print(wide)
long = wide.melt(id_vars="Department", value_vars=["Q1", "Q2"], var_name="quarter", value_name="headcount")
print(long)
back = long.pivot(index="Department", columns="quarter", values="headcount")
print(back)
df = pd.read_csv("sales.csv")
g = df.groupby(["region", "category"])["units"].sum()
u = g.unstack(fill_value=0)
print(u)
print(u.stack())
print(u.T)
