# Spotting outliers with z-scores and the IQR rule, then winsorising with clip.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv")
rev = df["units"] * df["unit_price"]
z = (rev - rev.mean()) / rev.std()
print(df.loc[z.abs() > 2, ["order_id", "product", "units"]].assign(z=z.round(3)))
q1, q3 = rev.quantile([0.25, 0.75])
iqr = q3 - q1
print(q1, q3, iqr)
mask = (rev < q1 - 1.5 * iqr) | (rev > q3 + 1.5 * iqr)
print(mask.sum(), rev[mask].sort_values().tail(3).tolist())
print(rev.clip(upper=rev.quantile(0.95)).describe())
mad = np.median(np.abs(rev - np.median(rev)))
print(mad, (0.6745 * (rev - np.median(rev)) / mad).abs().gt(3.5).sum())
