import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(64)
idx = pd.date_range('2024-03-01', periods=7 * 24, freq='h')
hours = np.arange(idx.size)
sensors = pd.DataFrame({
    'temperature (°C)': 18 + 6 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 0.5, idx.size),
    'humidity (%)': 60 - 15 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 2, idx.size),
    'CO2 (ppm)': 420 + 150 * ((hours % 24 > 8) & (hours % 24 < 18)) + rng.normal(0, 15, idx.size),
}, index=idx)

axes = sensors.plot(subplots=True, figsize=(10, 7), sharex=True, legend=False,
                    title=list(sensors.columns), color=['tab:red', 'tab:blue', 'tab:gray'])
plt.suptitle('One week of indoor sensor readings')
plt.tight_layout()
plt.show()
