# Index joins and stacking frames: join, concat with keys, combine_first.
import pandas as pd

df = pd.read_csv("sales.csv")
units = df.groupby("store")["units"].sum().rename("units")
orders = df.groupby("store").size().rename("orders")
stores = pd.DataFrame({"city": ["Oslo", "Bergen", "Seville", "Krakow", "Gdansk", "Porto"],
                       "sqm": [420, 310, 275, 500, 380, 290]}, index=["S01", "S02", "S03", "S04", "S05", "S06"])
t = stores.join([units, orders])
t["units_per_sqm"] = t["units"] / t["sqm"]
print(t)
h1 = df[df["date"] < "2024-04-01"].groupby("region")["units"].sum()
h2 = df[df["date"] >= "2024-04-01"].groupby("region")["units"].sum()
print(pd.concat([h1, h2], axis=1, keys=["H1a", "H1b"]))
print(pd.concat([df.head(2), df.tail(2)], keys=["first", "last"]))
x = pd.Series([1.0, None, 3.0], index=["a", "b", "c"])
y = pd.Series([10.0, 20.0, 30.0, 40.0], index=["a", "b", "c", "d"])
print(x.combine_first(y))
