import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(538)
weeks = pd.date_range('2024-01-07', periods=40, freq='W')
approval = 45 + np.cumsum(rng.normal(0, 0.8, weeks.size))
disapproval = 100 - approval - 6 + rng.normal(0, 0.5, weeks.size)

with plt.style.context('fivethirtyeight'):
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.plot(weeks, approval, label='Approve')
    ax.plot(weeks, disapproval, label='Disapprove')
    ax.set_title('Weekly approval polling average (synthetic)')
    ax.set_ylim(30, 65)
    ax.legend(loc='upper right')
    fig.tight_layout()
plt.show()
