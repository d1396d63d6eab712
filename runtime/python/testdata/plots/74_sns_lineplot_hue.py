import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(74)
dates = pd.date_range('2024-01-01', periods=60, freq='D')
frames = []
for region, trend in [('north', 0.5), ('south', 0.2), ('east', -0.1)]:
    frames.append(pd.DataFrame({
        'date': dates,
        'orders': 100 + trend * np.arange(60) + 10 * np.sin(np.arange(60) / 5) + rng.normal(0, 5, 60),
        'region': region,
    }))
orders = pd.concat(frames, ignore_index=True)

fig, ax = plt.subplots(figsize=(10, 5))
sns.lineplot(data=orders, x='date', y='orders', hue='region', style='region',
             markers=True, dashes=False, ax=ax)
ax.set_title('Daily orders per region (seaborn lineplot with hue)')
ax.tick_params(axis='x', rotation=30)
fig.tight_layout()
