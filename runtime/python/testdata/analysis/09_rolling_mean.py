# Smoothing daily revenue: 7-day rolling mean and sum, centred window, min_periods.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
df["revenue"] = df["units"] * df["unit_price"]
daily = df.groupby("date")["revenue"].sum().asfreq("D", fill_value=0)
out = pd.DataFrame({
    "revenue": daily,
    "ma7": daily.rolling(7).mean(),
    "ma7_min3": daily.rolling(7, min_periods=3).mean(),
    "centered": daily.rolling(5, center=True).mean(),
    "sum7": daily.rolling("7D").sum(),
    "std7": daily.rolling(7).std(),
})
print(out.head(12))
print(out.tail(5))
print(out.describe())
