import numpy as np
import matplotlib.pyplot as plt

years = np.arange(2000, 2024)
rng = np.random.default_rng(12)
africa = np.linspace(800, 1450, years.size) + rng.normal(0, 10, years.size)
americas = np.linspace(830, 1030, years.size)
asia = np.linspace(3700, 4700, years.size)
europe = np.linspace(727, 745, years.size)
oceania = np.linspace(31, 45, years.size)

fig, ax = plt.subplots(figsize=(9, 5))
ax.stackplot(years, africa, americas, asia, europe, oceania,
             labels=['Africa', 'Americas', 'Asia', 'Europe', 'Oceania'],
             alpha=0.85)
ax.set_xlim(years[0], years[-1])
ax.set_ylabel('Population (millions)')
ax.set_title('World population by continent (synthetic)')
ax.legend(loc='upper left', fontsize=9)
