import numpy as np
import matplotlib.pyplot as plt

cities = ['Oslo', 'Lima', 'Cairo', 'Perth', 'Quito', 'Hanoi', 'Dakar', 'Riga']
rainfall = np.array([763, 16, 25, 733, 1000, 1680, 495, 700])
order = np.argsort(rainfall)

fig, ax = plt.subplots(figsize=(7, 5))
bars = ax.barh(np.array(cities)[order], rainfall[order], color='steelblue')
ax.bar_label(bars, labels=[f'{v:,} mm' for v in rainfall[order]], padding=4, fontsize=9)
ax.set_xlabel('Annual rainfall (mm)')
ax.set_title('Annual rainfall by city (illustrative)')
ax.set_xlim(0, rainfall.max() * 1.2)
for side in ('top', 'right'):
    ax.spines[side].set_visible(False)
fig.tight_layout()
plt.show()
