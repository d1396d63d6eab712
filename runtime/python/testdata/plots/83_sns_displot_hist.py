import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(83)
n = 300
df = pd.DataFrame({
    'sleep_hours': np.concatenate([rng.normal(7.2, 0.9, n), rng.normal(6.4, 1.1, n)]),
    'group': ['students'] * n + ['workers'] * n,
})
df['weekday'] = rng.choice(['weekday', 'weekend'], 2 * n, p=[5 / 7, 2 / 7])

g = sns.displot(data=df, x='sleep_hours', hue='group', col='weekday', kind='hist',
                element='step', stat='density', common_norm=False, bins=20,
                height=4, aspect=1.1)
g.set_axis_labels('Hours of sleep', 'Density')
g.figure.suptitle('Sleep duration by group (displot)')
g.figure.subplots_adjust(top=0.85)
plt.show()
