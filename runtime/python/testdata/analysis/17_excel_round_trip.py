# Writing a report with two sheets through openpyxl, then reading it back.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"]
by_month = df.groupby(df["date"].dt.to_period("M").dt.to_timestamp())["revenue"].sum().to_frame()
by_product = df.pivot_table(index="product", columns="region", values="units", aggfunc="sum")
with pd.ExcelWriter("report.xlsx") as xw:
    by_month.to_excel(xw, sheet_name="monthly")
    by_product.to_excel(xw, sheet_name="products")
back = pd.read_excel("report.xlsx", sheet_name=None, index_col=0)
print(list(back))
print(back["monthly"])
print(back["products"])
print(back["products"].dtypes)
print((back["monthly"]["revenue"].to_numpy() == by_month["revenue"].to_numpy()).all())
import openpyxl
wb = openpyxl.load_workbook("report.xlsx")
print(wb.sheetnames, wb["products"].max_row, wb["products"].max_column, wb["monthly"]["A2"].value)
