import numpy as np
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

years = np.arange(2010, 2025)
revenue = 2.5e6 * 1.18 ** (years - 2010)


def millions(value, pos):
    if value >= 1e6:
        return f'${value / 1e6:.0f}M'
    return f'${value / 1e3:.0f}K'


fig, ax = plt.subplots(figsize=(8, 5))
ax.plot(years, revenue, marker='o', color='darkgreen')
ax.fill_between(years, revenue, color='darkgreen', alpha=0.1)
ax.yaxis.set_major_formatter(FuncFormatter(millions))
ax.xaxis.set_major_formatter(FuncFormatter(lambda v, p: f"'{int(v) % 100:02d}"))
ax.set_xlabel('Fiscal year')
ax.set_title('Revenue growth with custom tick formatters')
ax.grid(axis='y', alpha=0.4)
