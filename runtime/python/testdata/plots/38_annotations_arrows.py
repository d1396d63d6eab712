import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(0, 10, 500)
y = np.exp(-0.3 * x) * np.sin(2 * x)
i_max = np.argmax(y)
i_min = np.argmin(y)

fig, ax = plt.subplots(figsize=(9, 5))
ax.plot(x, y, color='black')
ax.annotate(f'global max\n({x[i_max]:.2f}, {y[i_max]:.2f})',
            xy=(x[i_max], y[i_max]), xytext=(2.5, 0.75),
            arrowprops=dict(facecolor='green', shrink=0.05, width=1.5, headwidth=8))
ax.annotate('global min', xy=(x[i_min], y[i_min]), xytext=(4, -0.6),
            arrowprops=dict(arrowstyle='->', connectionstyle='arc3,rad=0.3', color='red'),
            color='red')
ax.annotate('decays to zero', xy=(9, 0), xytext=(7, 0.4),
            arrowprops=dict(arrowstyle='fancy', fc='0.6', ec='none',
                            connectionstyle='angle3,angleA=0,angleB=-90'))
ax.set_ylim(-0.8, 1.0)
ax.set_title('Annotated damped oscillation')
ax.set_xlabel('t')
