import numpy as np
import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter

defects = {'Scratches': 45, 'Dents': 31, 'Misalignment': 18, 'Cracks': 9,
           'Discoloration': 6, 'Other': 4}
labels = list(defects)
counts = np.array(list(defects.values()))
cum_pct = counts.cumsum() / counts.sum() * 100

fig, ax = plt.subplots(figsize=(9, 5))
ax.bar(labels, counts, color='C0')
ax.set_ylabel('Count')
ax2 = ax.twinx()
ax2.plot(labels, cum_pct, color='C3', marker='o', ms=5)
ax2.yaxis.set_major_formatter(PercentFormatter(xmax=100))
ax2.set_ylim(0, 105)
ax2.axhline(80, color='C3', ls='--', lw=0.8)
ax.set_title('Pareto chart of defect types')
ax.tick_params(axis='x', rotation=20)
fig.tight_layout()
plt.show()
