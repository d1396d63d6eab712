import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(65)
rows = []
for country, base, growth in [('Atlantis', 30, 0.9), ('Borduria', 45, 0.4),
                              ('Cascadia', 25, 1.3), ('Dystopia', 50, -0.2)]:
    for year in range(2000, 2024):
        rows.append({'country': country, 'year': year,
                     'gdp_per_capita': base + growth * (year - 2000) + rng.normal(0, 1)})
df = pd.DataFrame(rows)

fig, ax = plt.subplots(figsize=(9, 5))
df.set_index('year').groupby('country')['gdp_per_capita'].plot(ax=ax, marker='.', legend=True)
ax.set_ylabel('GDP per capita (k$)')
ax.set_title('GDP per capita by country (groupby + plot)')
ax.legend(title='Country', loc='upper left', bbox_to_anchor=(1, 1))
fig.tight_layout()
