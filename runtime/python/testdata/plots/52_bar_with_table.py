import numpy as np
import matplotlib.pyplot as plt

products = ['Widgets', 'Gadgets', 'Doohickeys']
quarters = ['Q1', 'Q2', 'Q3', 'Q4']
data = np.array([[66, 74, 80, 91],
                 [43, 51, 49, 60],
                 [22, 30, 41, 38]])
colors = plt.cm.BuPu(np.linspace(0.3, 0.8, len(products)))

fig, ax = plt.subplots(figsize=(8, 6))
x = np.arange(len(quarters))
bottom = np.zeros(len(quarters))
for row, color in zip(data, colors):
    ax.bar(x, row, 0.5, bottom=bottom, color=color)
    bottom += row
table = ax.table(cellText=data, rowLabels=products, rowColours=colors,
                 colLabels=quarters, loc='bottom', cellLoc='center')
table.scale(1, 1.4)
ax.set_xticks([])
ax.set_ylabel('Units (thousands)')
ax.set_title('Stacked sales with a data table')
fig.subplots_adjust(left=0.22, bottom=0.25)
plt.show()
