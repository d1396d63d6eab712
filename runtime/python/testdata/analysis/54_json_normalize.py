# Nested JSON: read_json, json_normalize of nested fields, explode of lists, and back to JSON.
import json

import pandas as pd

customers = pd.read_json("customers.json")
print(customers.dtypes)
flat = pd.json_normalize(json.load(open("customers.json")), sep="_")
print(flat.columns.tolist())
print(flat[["customer_id", "contact_newsletter", "segment"]].head())
tags = flat[["customer_id", "tags"]].explode("tags").dropna()
print(tags["tags"].value_counts())
print(flat.groupby("country")["contact_newsletter"].mean().sort_values(ascending=False))
print(customers[["customer_id", "signup"]].head(3).to_json(orient="records", date_format="iso"))
print(flat.head(2).drop(columns="tags").to_dict(orient="records"))
