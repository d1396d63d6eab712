# A round trip through CSV keeps values and dtypes where CSV can.
import numpy as np
import pandas as pd

df = pd.DataFrame({
    "id": np.arange(1, 6),
    "when": pd.date_range("2024-03-30 22:00", periods=5, freq="90min", tz="Europe/Paris"),
    "x": [0.1, 1 / 3, 2.5e-10, 12345678.9, np.nan],
    "label": ["a", "b,c", 'say "hi"', "", None],
    "flag": [True, False, True, None, False],
})
df.to_csv("round.csv", index=False)
back = pd.read_csv("round.csv", parse_dates=["when"])
print(open("round.csv").read())
print(back)
print(back.dtypes)
print((back["x"] - df["x"]).abs().max())
print(back["when"].equals(df["when"]))
