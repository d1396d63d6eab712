# Parsing dates the way uploads come: explicit formats, mixed formats, errors="coerce", dayfirst.
import pandas as pd

raw = pd.read_csv("survey.csv")["submitted"]
iso = pd.to_datetime(raw, errors="coerce", format="%Y-%m-%d")
print(iso.notna().sum(), iso.dropna().head(3))
print(pd.to_datetime(raw, errors="coerce", format="mixed", dayfirst=True))
print(pd.to_datetime(["2024-03-05", "2024-13-01", "31/12/2024"], errors="coerce"))
print(pd.to_datetime(["05/03/2024", "11/03/2024"], format="%d/%m/%Y"))
print(pd.to_datetime([1709251200, 1711929600], unit="s"))
print(pd.to_datetime(["20240305 1430"], format="%Y%m%d %H%M"))
print(pd.to_datetime(pd.Series(["2024-01-01", None, "garbage"]), errors="coerce").isna().tolist())
print(pd.Timestamp("2024-02-29") + pd.DateOffset(years=1), pd.Timestamp("2024-01-31") + pd.offsets.MonthEnd(1))
try:
    pd.to_datetime(["2024-02-30"])
except ValueError as e:
    print("ValueError:", str(e).splitlines()[0])
