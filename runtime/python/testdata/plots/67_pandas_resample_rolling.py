import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(67)
idx = pd.date_range('2022-01-01', '2023-12-31', freq='D')
day = np.arange(idx.size)
temps = pd.Series(10 + 12 * np.sin(2 * np.pi * (day - 110) / 365.25) + rng.normal(0, 3, idx.size),
                  index=idx, name='temperature')

fig, ax = plt.subplots(figsize=(11, 5))
temps.plot(ax=ax, color='lightgray', lw=0.7, label='daily')
temps.rolling(30, center=True).mean().plot(ax=ax, color='tab:red', lw=2, label='30-day rolling mean')
temps.resample('ME').mean().plot(ax=ax, style='o--', color='tab:blue', ms=4, label='monthly mean')
ax.set_ylabel('°C')
ax.set_title('Daily temperature with rolling and resampled means')
ax.legend(loc='lower right')
