import numpy as np
import matplotlib.pyplot as plt

directions = ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW']
freq = np.array([8, 5, 4, 6, 12, 18, 15, 10])
theta = np.linspace(0, 2 * np.pi, len(directions), endpoint=False)
width = 2 * np.pi / len(directions) * 0.9

fig = plt.figure(figsize=(6, 6))
ax = fig.add_subplot(projection='polar')
bars = ax.bar(theta, freq, width=width, bottom=0,
              color=plt.cm.viridis(freq / freq.max()), edgecolor='white')
ax.set_theta_zero_location('N')
ax.set_theta_direction(-1)
ax.set_xticks(theta)
ax.set_xticklabels(directions)
ax.set_title('Wind rose: frequency by direction (%)', pad=15)
plt.show()
