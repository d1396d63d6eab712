import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(77)
rows = []
for day in ['Thu', 'Fri', 'Sat', 'Sun']:
    for smoker in ['Yes', 'No']:
        center = 18 + 3 * (day in ('Sat', 'Sun')) + 2 * (smoker == 'Yes')
        for v in rng.gamma(6, center / 6, 45):
            rows.append({'day': day, 'smoker': smoker, 'total_bill': v})
tips = pd.DataFrame(rows)

fig, ax = plt.subplots(figsize=(9, 5))
sns.violinplot(data=tips, x='day', y='total_bill', hue='smoker', split=True,
               inner='quart', palette={'Yes': '#fdae61', 'No': '#abd9e9'}, ax=ax)
ax.set_title('Bill distribution by day, split by smoker (violinplot)')
ax.set_ylabel('Total bill ($)')
plt.show()
