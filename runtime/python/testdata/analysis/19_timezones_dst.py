# Local times across daylight saving changes: localize, convert, ambiguous and nonexistent times.
import pandas as pd

idx = pd.date_range("2024-03-31 00:00", periods=5, freq="h", tz="UTC")
print(idx.tz_convert("Europe/Berlin"))
naive = pd.DatetimeIndex(["2024-03-10 01:30", "2024-03-10 03:30", "2024-11-03 00:30", "2024-11-03 02:30"])
print(naive.tz_localize("America/New_York"))
print(pd.DatetimeIndex(["2024-03-10 02:30"]).tz_localize("America/New_York", nonexistent="shift_forward"))
print(pd.DatetimeIndex(["2024-03-10 02:30"]).tz_localize("America/New_York", nonexistent="NaT"))
amb = pd.DatetimeIndex(["2024-11-03 01:30", "2024-11-03 01:30"])
print(amb.tz_localize("America/New_York", ambiguous=[True, False]))
try:
    pd.Timestamp("2024-11-03 01:30").tz_localize("America/New_York")
except Exception as e:
    print(type(e).__name__, e)
t = pd.Timestamp("2024-10-27 00:30", tz="Europe/London")
print([str(t + pd.Timedelta(hours=h)) for h in range(4)])
print(pd.Timestamp("2024-06-01 12:00", tz="Asia/Kolkata").tz_convert("Australia/Adelaide"))
s = pd.Series(pd.date_range("2024-10-26", periods=3, freq="D", tz="Europe/London"))
print(s.diff())
print(pd.Timestamp("2024-07-01", tz="US/Pacific").utcoffset(), pd.Timestamp("2024-01-01", tz="US/Pacific").tzname())
