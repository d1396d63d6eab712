import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(69)
species = rng.choice(['Robin', 'Sparrow', 'Blackbird', 'Blue tit', 'Wren', 'Magpie', 'Starling'],
                     size=500, p=[0.2, 0.25, 0.15, 0.12, 0.1, 0.08, 0.1])
counts = pd.Series(species).value_counts().sort_values()

ax = counts.plot.barh(figsize=(8, 5), color='darkolivegreen')
ax.set_xlabel('Sightings')
ax.set_title('Garden bird survey: sightings by species')
for i, v in enumerate(counts):
    ax.text(v + 2, i, str(v), va='center', fontsize=9)
ax.set_xlim(0, counts.max() * 1.12)
