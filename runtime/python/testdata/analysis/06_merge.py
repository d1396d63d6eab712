# Joining orders to the customer table: inner, left with indicator, outer, and a many-to-one check.
import pandas as pd

orders = pd.read_csv("sales.csv")
customers = pd.read_json("customers.json")[["customer_id", "name", "segment", "country"]]
customers = customers[customers["country"] != "JP"]
inner = orders.merge(customers, on="customer_id", how="inner", validate="many_to_one")
print(len(orders), len(inner))
left = orders.merge(customers, on="customer_id", how="left", indicator=True)
print(left["_merge"].value_counts())
print(left.loc[left["_merge"] == "left_only", ["order_id", "customer_id"]].head())
seg = inner.groupby(["segment", "country"])["units"].sum().reset_index()
print(seg)
a = pd.DataFrame({"key": ["a", "b", "c", "c"], "x": [1, 2, 3, 4]})
b = pd.DataFrame({"key": ["b", "c", "d"], "x": [20, 30, 40]})
print(a.merge(b, on="key", how="outer", suffixes=("_left", "_right")))
print(pd.merge_asof(pd.DataFrame({"t": [1, 5, 10]}), pd.DataFrame({"t": [0, 4, 9], "v": ["p", "q", "r"]}), on="t"))
