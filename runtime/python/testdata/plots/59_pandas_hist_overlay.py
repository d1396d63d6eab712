import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(59)
df = pd.DataFrame({
    'morning': rng.normal(22, 4, 800),
    'afternoon': rng.normal(30, 6, 800),
    'evening': rng.normal(26, 3, 800),
})

ax = df.plot.hist(bins=40, alpha=0.5, figsize=(8, 5), edgecolor='none')
ax.set_xlabel('Commute time (min)')
ax.set_title('Commute time by time of day')
