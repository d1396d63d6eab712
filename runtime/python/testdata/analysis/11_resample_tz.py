# Hourly UTC sensor readings shown in local time and resampled per local day and week, across DST.
import pandas as pd

s = pd.read_csv("sensor.csv")
s["timestamp"] = pd.to_datetime(s["timestamp"], utc=True)
roof = s[s["sensor"] == "roof"].set_index("timestamp").tz_convert("Europe/Berlin")
print(roof.index[:3])
daily = roof[["temperature_c", "humidity_pct"]].resample("D").agg(["min", "mean", "max", "count"])
print(daily.round(2))
print(roof["temperature_c"].resample("W-SUN").mean())
print(roof.loc["2024-03-31 00:00":"2024-03-31 05:00", "temperature_c"])
ny = roof.tz_convert("America/New_York")["temperature_c"].resample("6h").mean()
print(ny.loc["2024-03-09":"2024-03-11"])
