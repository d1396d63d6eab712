# Reading an uploaded spreadsheet: a title row above the header, a totals row, two sheets.
import pandas as pd

sheets = pd.read_excel("budget.xlsx", sheet_name=None)
print(list(sheets))
budget = pd.read_excel("budget.xlsx", sheet_name="Budget", header=2)
print(budget.tail(3))
budget = budget[budget["Department"] != "Total"]
print(budget.dtypes)
budget["variance"] = budget["Actual"] - budget["Planned"]
budget["variance_pct"] = (budget["variance"] / budget["Planned"] * 100).round(1)
print(budget.groupby("Department")[["Planned", "Actual", "variance"]].sum())
print(budget.pivot(index="Month", columns="Department", values="variance_pct"))
hc = pd.read_excel("budget.xlsx", sheet_name="Headcount", index_col=0)
print(hc)
print(hc["Remote share"].map("{:.1%}".format))
