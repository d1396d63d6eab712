import numpy as np
import matplotlib.pyplot as plt

months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun',
          'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
temp = np.array([3.1, 4.0, 7.2, 10.5, 14.3, 17.6, 19.8, 19.4, 16.2, 12.0, 7.1, 4.0])
precip = np.array([55, 41, 43, 45, 50, 48, 45, 52, 49, 69, 64, 57])

fig, ax1 = plt.subplots(figsize=(9, 5))
ax1.bar(months, precip, color='lightskyblue', label='Precipitation')
ax1.set_ylabel('Precipitation (mm)', color='steelblue')
ax1.tick_params(axis='y', labelcolor='steelblue')
ax1.set_ylim(0, 90)

ax2 = ax1.twinx()
ax2.plot(months, temp, color='firebrick', marker='o', lw=2, label='Temperature')
ax2.set_ylabel('Mean temperature (°C)', color='firebrick')
ax2.tick_params(axis='y', labelcolor='firebrick')
ax2.set_ylim(0, 25)

handles = ax1.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
ax1.legend(handles, [h.get_label() for h in handles], loc='upper left')
ax1.set_title('Climate chart with twin y-axes')
fig.tight_layout()
