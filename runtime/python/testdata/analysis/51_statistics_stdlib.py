# Statistics without scipy: the statistics module, a t-test by hand and a correlation.
import math
import statistics as st

import pandas as pd

df = pd.read_csv("sales.csv")
units = df["units"].tolist()
print(st.mean(units), st.median(units), st.mode(units), st.multimode(df["region"]))
print(st.stdev(units), st.pstdev(units), st.variance(units))
print(st.quantiles(units, n=4), st.quantiles(units, n=10, method="inclusive"))
print(st.fmean(df["unit_price"]), st.geometric_mean(df["unit_price"]), st.harmonic_mean(df["unit_price"]))
a = df.loc[df["region"] == "North", "units"].tolist()
b = df.loc[df["region"] == "East", "units"].tolist()
se = math.sqrt(st.variance(a) / len(a) + st.variance(b) / len(b))
print("Welch t =", (st.mean(a) - st.mean(b)) / se)
print(st.correlation(df["units"], df["unit_price"]), st.correlation(df["units"], df["unit_price"], method="ranked"))
print(st.linear_regression(df["unit_price"], df["units"]))
nd = st.NormalDist(mu=st.mean(units), sigma=st.stdev(units))
print(nd.cdf(10), nd.inv_cdf(0.975), nd.zscore(12))
print(st.covariance(df["units"], df["unit_price"]), st.median_grouped([1, 2, 2, 3, 4, 4, 4, 5]))
