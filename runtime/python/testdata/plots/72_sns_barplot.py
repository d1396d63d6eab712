import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(72)
rows = []
for day in ['Thu', 'Fri', 'Sat', 'Sun']:
    for sex, shift in [('Female', 0), ('Male', 1.5)]:
        for _ in range(30):
            rows.append({'day': day, 'sex': sex,
                         'tip': max(0.5, rng.normal(2.8 + shift * 0.3 + (day in ('Sat', 'Sun')) * 0.6, 1.0))})
tips = pd.DataFrame(rows)

with sns.axes_style('whitegrid'):
    fig, ax = plt.subplots(figsize=(8, 5))
    sns.barplot(data=tips, x='day', y='tip', hue='sex', errorbar='sd', capsize=0.1,
                palette='muted', ax=ax)
    ax.set_ylabel('Mean tip ($) ± SD')
    ax.set_title('Average tip by day and sex (seaborn barplot)')
