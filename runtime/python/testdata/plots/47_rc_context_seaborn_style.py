import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(47)
x = np.linspace(0, 10, 50)

with plt.style.context('seaborn-v0_8-whitegrid'), plt.rc_context({
        'font.size': 12, 'axes.titleweight': 'bold', 'lines.linewidth': 2.5,
        'axes.spines.top': False, 'axes.spines.right': False,
        'axes.prop_cycle': plt.cycler(color=['#264653', '#2a9d8f', '#e76f51'])}):
    fig, ax = plt.subplots(figsize=(8, 5))
    for i in range(3):
        ax.plot(x, np.sqrt(x) * (i + 1) + rng.normal(0, 0.2, x.size), label=f'model {i + 1}')
    ax.set_title('Temporary rcParams via rc_context')
    ax.set_xlabel('input')
    ax.set_ylabel('output')
    ax.legend()
