# Calendar features for a report: day names, quarters, ISO weeks, month ends, periods and business days.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
d = df["date"]
feat = pd.DataFrame({"date": d, "dow": d.dt.day_name(), "month": d.dt.month_name(), "quarter": d.dt.quarter,
                     "week": d.dt.isocalendar().week, "month_end": d.dt.is_month_end, "doy": d.dt.day_of_year})
print(feat.head(8))
print(df.groupby(d.dt.day_name())["units"].sum().reindex(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]))
print(pd.period_range("2024-01", "2024-06", freq="M"))
print(pd.bdate_range("2024-03-25", "2024-04-05"))
print(pd.date_range("2024-01-31", periods=4, freq="ME"))
print((pd.Timestamp("2024-06-30") - d.min()).days, d.max() - d.min())
print(d.dt.to_period("Q").value_counts().sort_index())
