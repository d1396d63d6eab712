import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(78)
np.random.seed(78)  # stripplot's jitter draws from NumPy's global RNG
groups = ['placebo', 'low dose', 'high dose']
df = pd.DataFrame({
    'group': np.repeat(groups, 25),
    'response': np.concatenate([rng.normal(m, 1.0, 25) for m in (2.0, 3.0, 4.2)]),
})

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 5), sharey=True)
sns.stripplot(data=df, x='group', y='response', hue='group', jitter=0.25, alpha=0.7,
              palette='Dark2', legend=False, ax=ax1)
ax1.set_title('stripplot (jittered)')
sns.swarmplot(data=df, x='group', y='response', hue='group', size=5,
              palette='Dark2', legend=False, ax=ax2)
ax2.set_title('swarmplot (non-overlapping)')
fig.suptitle('Trial responses by dose group')
fig.tight_layout()
