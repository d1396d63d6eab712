import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(76)
rows = []
for diet in ['low-fat', 'keto', 'mediterranean']:
    for sex in ['F', 'M']:
        loss = {'low-fat': 3, 'keto': 5, 'mediterranean': 4}[diet] + (0.8 if sex == 'M' else 0)
        for v in rng.normal(loss, 1.5, 40):
            rows.append({'diet': diet, 'sex': sex, 'weight_loss_kg': v})
df = pd.DataFrame(rows)

with sns.axes_style('ticks'):
    fig, ax = plt.subplots(figsize=(8, 5))
    sns.boxplot(data=df, x='diet', y='weight_loss_kg', hue='sex', palette='pastel',
                width=0.6, fliersize=3, ax=ax,
                # seaborn 0.13.2 forwards the deprecated `vert=` to Matplotlib >= 3.11;
                # overriding it with None keeps the default vertical orientation quietly.
                vert=None)
    ax.axhline(0, color='gray', lw=0.8, ls='--')
    ax.set_title('Weight loss after 12 weeks by diet and sex')
    sns.despine(ax=ax, offset=8, trim=True)
