import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(56)
idx = pd.date_range('2023-01-01', periods=365, freq='D')
df = pd.DataFrame({
    'store_a': 200 + 30 * np.sin(np.arange(365) * 2 * np.pi / 7) + rng.normal(0, 10, 365).cumsum() * 0.3,
    'store_b': 180 + 20 * np.sin(np.arange(365) * 2 * np.pi / 7 + 1) + np.linspace(0, 60, 365),
    'store_c': 150 + rng.normal(0, 12, 365),
}, index=idx)

ax = df.plot(figsize=(10, 5), lw=0.8, alpha=0.9, title='Daily visitors per store, 2023')
ax.set_ylabel('visitors')
ax.set_xlabel('')
ax.legend(title='store', loc='upper left')
plt.show()
