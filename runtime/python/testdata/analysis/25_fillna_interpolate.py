# Gaps in a sensor series: forward fill, interpolation by time, limits, and group-wise fills.
import pandas as pd

s = pd.read_csv("sensor.csv", parse_dates=["timestamp"])
wide = s.pivot(index="timestamp", columns="sensor", values="temperature_c").asfreq("h")
print(wide.isna().sum())
gaps = wide[wide.isna().any(axis=1)].index[:5]
print(gaps)
filled = pd.DataFrame({
    "raw": wide["roof"],
    "ffill": wide["roof"].ffill(),
    "linear": wide["roof"].interpolate(),
    "time": wide["roof"].interpolate(method="time"),
    "limit1": wide["roof"].interpolate(limit=1),
})
print(filled.loc[filled["raw"].isna()].head(8))
print(wide.fillna(wide.mean()).isna().sum().sum(), wide.mean().round(3).to_dict())
sales = pd.read_csv("sales.csv")
sales["discount"] = sales["discount"].fillna(sales.groupby("category")["discount"].transform("median"))
print(sales["discount"].value_counts().sort_index())
print(pd.Series([1.0, None, None, 4.0, None]).interpolate(limit_direction="both").tolist())
