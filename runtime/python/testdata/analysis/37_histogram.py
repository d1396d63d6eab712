# Distribution of order values: np.histogram with bin counts, explicit edges and densities.
import numpy as np
import pandas as pd

df = pd.read_csv("sales.csv")
rev = (df["units"] * df["unit_price"]).to_numpy()
counts, edges = np.histogram(rev, bins=8)
print(counts)
print(edges)
print(np.histogram(rev, bins=[0, 50, 100, 500, 1000, 5000, 20000]))
dens, e = np.histogram(np.log10(rev), bins="auto", density=True)
print(len(e), dens.round(4), (dens * np.diff(e)).sum())
print(np.histogram_bin_edges(rev, bins="sturges"))
h2, xe, ye = np.histogram2d(df["units"], df["unit_price"], bins=3)
print(h2)
print(np.digitize([5, 60, 700], edges))
