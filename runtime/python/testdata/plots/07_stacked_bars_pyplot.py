import numpy as np
import matplotlib.pyplot as plt

years = ['2019', '2020', '2021', '2022', '2023']
coal = np.array([40, 36, 35, 31, 27])
gas = np.array([25, 27, 26, 28, 27])
renew = np.array([20, 23, 26, 30, 35])
nuclear = np.array([15, 14, 13, 11, 11])

plt.figure(figsize=(8, 5))
bottom = np.zeros(len(years))
for label, vals, color in [('Coal', coal, '#4d4d4d'), ('Gas', gas, '#f28e2b'),
                           ('Renewables', renew, '#59a14f'), ('Nuclear', nuclear, '#9c755f')]:
    plt.bar(years, vals, bottom=bottom, label=label, color=color)
    bottom += vals
plt.ylabel('Share of generation (%)')
plt.title('Electricity mix (stacked)')
plt.legend(loc='upper left', bbox_to_anchor=(1.01, 1))
plt.tight_layout()
plt.show()
