import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(81)
rows = []
for region in ['urban', 'rural']:
    for year in range(2015, 2024):
        for source in ['solar', 'wind', 'hydro']:
            base = {'solar': 5, 'wind': 8, 'hydro': 12}[source]
            growth = {'solar': 1.8, 'wind': 1.0, 'hydro': 0.1}[source] * (1.3 if region == 'rural' else 1)
            rows.append({'region': region, 'year': year, 'source': source,
                         'capacity_gw': base + growth * (year - 2015) + rng.normal(0, 0.5)})
df = pd.DataFrame(rows)

g = sns.relplot(data=df, x='year', y='capacity_gw', hue='source', col='region',
                kind='line', marker='o', height=4, aspect=1.2, errorbar=None)
g.set_axis_labels('Year', 'Installed capacity (GW)')
g.set_titles('{col_name}')
g.figure.suptitle('Renewable capacity by region (relplot)')
g.figure.subplots_adjust(top=0.85)
plt.show()
