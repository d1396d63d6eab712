# Finding the daily cycle in hourly temperatures with np.fft.rfft.
import numpy as np
import pandas as pd

s = pd.read_csv("sensor.csv", parse_dates=["timestamp"])
roof = s[s["sensor"] == "roof"].set_index("timestamp")["temperature_c"].asfreq("h").interpolate()
x = roof.to_numpy() - roof.mean()
spec = np.fft.rfft(x)
freqs = np.fft.rfftfreq(len(x), d=1.0)
power = np.abs(spec) ** 2
top = np.argsort(power)[::-1][:3]
print(len(x), top, 1 / freqs[top])
print(np.abs(spec[:6]))
print(np.fft.fft(np.array([1.0, 2.0, 1.0, -1.0, 1.5, 0.0])))
print(np.fft.irfft(np.fft.rfft([1.0, 2.0, 3.0, 4.0])))
print(np.fft.fftfreq(8, d=0.5), np.fft.fftshift(np.arange(6)))
