import numpy as np
import matplotlib.pyplot as plt

quarters = ['Q1', 'Q2', 'Q3', 'Q4']
sales = {
    'North': [120, 135, 150, 160],
    'South': [90, 110, 105, 130],
    'West': [70, 95, 120, 140],
}
x = np.arange(len(quarters))
width = 0.25

fig, ax = plt.subplots(layout='constrained', figsize=(8, 5))
for i, (region, vals) in enumerate(sales.items()):
    rects = ax.bar(x + (i - 1) * width, vals, width, label=region)
    ax.bar_label(rects, padding=2, fontsize=8)
ax.set_xticks(x, quarters)
ax.set_ylabel('Units sold')
ax.set_title('Quarterly sales by region')
ax.legend(loc='upper left', ncols=3)
ax.set_ylim(0, 190)
