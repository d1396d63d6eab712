import numpy as np
import matplotlib.pyplot as plt
import matplotlib.gridspec as gridspec

rng = np.random.default_rng(48)
x = rng.normal(0, 1, 1000)
y = 0.5 * x + rng.normal(0, 0.7, 1000)

fig = plt.figure(figsize=(8, 8))
gs = gridspec.GridSpec(4, 4, figure=fig, hspace=0.05, wspace=0.05)
ax_main = fig.add_subplot(gs[1:, :3])
ax_top = fig.add_subplot(gs[0, :3], sharex=ax_main)
ax_right = fig.add_subplot(gs[1:, 3], sharey=ax_main)

ax_main.scatter(x, y, s=8, alpha=0.5, color='slateblue')
ax_top.hist(x, bins=40, color='slateblue', alpha=0.7)
ax_right.hist(y, bins=40, orientation='horizontal', color='slateblue', alpha=0.7)
ax_top.tick_params(labelbottom=False)
ax_right.tick_params(labelleft=False)
ax_main.set_xlabel('x')
ax_main.set_ylabel('y')
ax_top.set_title('Scatter with marginal histograms (GridSpec)')
plt.show()
