import numpy as np
import matplotlib.pyplot as plt

theta = np.linspace(0, 2 * np.pi, 500)

fig, ax = plt.subplots(subplot_kw={'projection': 'polar'}, figsize=(7.5, 6))
for k, color in [(2, 'tab:red'), (3, 'tab:green'), (5, 'tab:purple')]:
    ax.plot(theta, np.abs(np.cos(k * theta)), color=color, label=f'k = {k}')
ax.set_rticks([0.25, 0.5, 0.75, 1.0])
ax.set_rlabel_position(22.5)
ax.set_theta_zero_location('N')
ax.set_theta_direction(-1)
ax.set_title('Rose curves r = |cos(kθ)|', va='bottom')
ax.legend(loc='upper left', bbox_to_anchor=(1.05, 1.05))
fig.tight_layout()
