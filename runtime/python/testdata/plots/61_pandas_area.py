import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

months = pd.date_range('2022-01-01', periods=24, freq='MS')
rng = np.random.default_rng(61)
traffic = pd.DataFrame({
    'organic': np.linspace(4000, 7000, 24) + rng.normal(0, 300, 24),
    'paid': np.linspace(2000, 2500, 24) + rng.normal(0, 200, 24),
    'social': np.linspace(500, 2500, 24) + rng.normal(0, 150, 24),
    'referral': np.full(24, 800) + rng.normal(0, 100, 24),
}, index=months)

ax = traffic.plot.area(figsize=(10, 5), alpha=0.8, colormap='Set2')
ax.set_ylabel('Monthly sessions')
ax.set_title('Website traffic by channel (stacked area)')
ax.legend(loc='upper left')
