import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(54)
rates = [5, 10, 20, 8, 15, 3]
spikes = [np.sort(rng.uniform(0, 2, rng.poisson(r * 2))) for r in rates]
colors = [f'C{i}' for i in range(len(rates))]

fig, ax = plt.subplots(figsize=(9, 4.5))
ax.eventplot(spikes, colors=colors, lineoffsets=np.arange(len(rates)),
             linelengths=0.8, linewidths=1.2)
ax.set_yticks(range(len(rates)), labels=[f'neuron {i} ({r} Hz)' for i, r in enumerate(rates)])
ax.set_xlabel('time (s)')
ax.set_xlim(0, 2)
ax.set_title('Spike raster (eventplot)')
plt.show()
