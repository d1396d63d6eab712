import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(71)
n = 200
base = rng.normal(size=n)
df = pd.DataFrame({
    'height': base + rng.normal(0, 0.5, n),
    'weight': 0.8 * base + rng.normal(0, 0.6, n),
    'age': rng.normal(size=n),
    'income': 0.3 * base + rng.normal(0, 1, n),
    'sleep': -0.4 * base + rng.normal(0, 0.9, n),
})
corr = df.corr()
mask = np.triu(np.ones_like(corr, dtype=bool), k=1)

fig, ax = plt.subplots(figsize=(7, 6))
sns.heatmap(corr, mask=mask, annot=True, fmt='.2f', cmap='vlag', vmin=-1, vmax=1,
            square=True, linewidths=0.5, cbar_kws={'shrink': 0.8, 'label': 'Pearson r'}, ax=ax)
ax.set_title('Correlation matrix (lower triangle)')
fig.tight_layout()
