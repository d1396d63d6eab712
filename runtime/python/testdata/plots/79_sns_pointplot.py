import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(79)
rows = []
for condition, slope in [('control', 0.2), ('training', 1.1)]:
    for week in [0, 2, 4, 6, 8]:
        for _ in range(20):
            rows.append({'week': week, 'condition': condition,
                         'score': 50 + slope * week + rng.normal(0, 2)})
df = pd.DataFrame(rows)

with sns.axes_style('darkgrid'):
    fig, ax = plt.subplots(figsize=(8, 5))
    sns.pointplot(data=df, x='week', y='score', hue='condition', errorbar=None,
                  markers=['o', 's'], linestyles=['--', '-'], dodge=0.2, ax=ax)
    ax.set_title('Mean score over time (pointplot)')
plt.show()
