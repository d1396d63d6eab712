import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(82)
rows = []
for school in ['Alder', 'Birch', 'Cedar']:
    for subject in ['math', 'reading', 'science']:
        for grade in ['G4', 'G8']:
            for _ in range(15):
                rows.append({'school': school, 'subject': subject, 'grade': grade,
                             'score': rng.normal(70 + (grade == 'G8') * 5 + (school == 'Cedar') * 4, 8)})
scores = pd.DataFrame(rows)

g = sns.catplot(data=scores, kind='bar', x='subject', y='score', hue='grade',
                col='school', errorbar=None, palette='crest', height=3.8, aspect=0.9)
g.set(ylim=(0, 100))
g.set_titles('School {col_name}')
g.despine(left=True)
