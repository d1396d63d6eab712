# Cumulative statistics and exponentially weighted averages of a temperature series.
import pandas as pd

s = pd.read_csv("sensor.csv", parse_dates=["timestamp"])
roof = s[s["sensor"] == "roof"].set_index("timestamp")["temperature_c"]
out = pd.DataFrame({
    "temp": roof,
    "running_max": roof.expanding().max(),
    "running_mean": roof.expanding(min_periods=3).mean(),
    "ewm_span12": roof.ewm(span=12, adjust=False).mean(),
    "ewm_halflife": roof.ewm(halflife="6h", times=roof.index).mean(),
})
print(out.iloc[:10])
print(out.iloc[-5:])
print(roof.ewm(alpha=0.3).std().iloc[5:10])
