# Durations: time between orders, to_timedelta, rounding, and averages in days and hours.
import pandas as pd

df = pd.read_csv("sales.csv", parse_dates=["date"])
first_last = df.groupby("customer_id")["date"].agg(["min", "max", "count"])
first_last["span"] = first_last["max"] - first_last["min"]
print(first_last.sort_values("span", ascending=False).head(5))
gaps = df.sort_values("date").groupby("customer_id")["date"].diff().dropna()
print(gaps.describe())
print(gaps.mean().round("h"), gaps.median(), (gaps.dt.days > 30).mean())
td = pd.to_timedelta(["1 days 02:30:00", "45min", "3h", "90s", "nonsense"], errors="coerce")
print(td)
print(td.total_seconds().tolist(), pd.Timedelta("1D") / pd.Timedelta("1h"))
print(pd.timedelta_range("0h", periods=4, freq="90min"))
