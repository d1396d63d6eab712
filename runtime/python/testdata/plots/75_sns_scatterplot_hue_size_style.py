import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(75)
n = 150
species = rng.choice(['Adelie', 'Chinstrap', 'Gentoo'], n)
offsets = {'Adelie': (38.8, 18.3, 3700), 'Chinstrap': (48.8, 18.4, 3730), 'Gentoo': (47.5, 15.0, 5080)}
penguins = pd.DataFrame({
    'species': species,
    'bill_length_mm': [offsets[s][0] + rng.normal(0, 2.5) for s in species],
    'bill_depth_mm': [offsets[s][1] + rng.normal(0, 1.0) for s in species],
    'body_mass_g': [offsets[s][2] + rng.normal(0, 400) for s in species],
    'island': rng.choice(['Biscoe', 'Dream', 'Torgersen'], n),
})

fig, ax = plt.subplots(figsize=(9, 6))
sns.scatterplot(data=penguins, x='bill_length_mm', y='bill_depth_mm', hue='species',
                size='body_mass_g', style='island', sizes=(20, 200), alpha=0.8, ax=ax)
ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1), fontsize=8)
ax.set_title('Penguin bills (hue = species, size = mass, style = island)')
fig.tight_layout()
plt.show()
