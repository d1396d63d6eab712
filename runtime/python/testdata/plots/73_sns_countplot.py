import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(73)
n = 400
passengers = pd.DataFrame({
    'class': rng.choice(['First', 'Second', 'Third'], n, p=[0.25, 0.2, 0.55]),
    'survived': rng.choice(['no', 'yes'], n, p=[0.6, 0.4]),
})

fig, ax = plt.subplots(figsize=(7, 5))
sns.countplot(data=passengers, x='class', hue='survived', order=['First', 'Second', 'Third'],
              palette={'no': '#d62728', 'yes': '#2ca02c'}, ax=ax)
for container in ax.containers:
    ax.bar_label(container, fontsize=9)
ax.set_title('Passengers by class and outcome (countplot)')
sns.despine(ax=ax)
plt.show()
