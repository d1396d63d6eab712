import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(11)
groups = {
    'control': rng.normal(50, 10, 400),
    'treatment A': rng.normal(58, 9, 350),
    'treatment B': rng.normal(64, 12, 300),
}

fig, ax = plt.subplots(figsize=(8, 5))
ax.hist(list(groups.values()), bins=np.arange(10, 111, 5), stacked=True,
        label=list(groups.keys()), color=['#8da0cb', '#fc8d62', '#66c2a5'],
        edgecolor='white')
ax.set_xlabel('Score')
ax.set_ylabel('Count')
ax.set_title('Stacked histogram of scores by group')
ax.legend(title='Group')
plt.show()
