import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(70)
tips = pd.DataFrame({
    'total_bill': np.concatenate([rng.gamma(4, 4.5, 150), rng.gamma(5, 4.8, 120)]),
    'time': ['Lunch'] * 150 + ['Dinner'] * 120,
})

fig, ax = plt.subplots(figsize=(8, 5))
sns.histplot(data=tips, x='total_bill', hue='time', multiple='stack', bins=25,
             palette='Set2', edgecolor='white', ax=ax)
ax.set_xlabel('Total bill ($)')
ax.set_title('Stacked histogram of bills by meal (seaborn histplot)')
plt.show()
