import pandas as pd
import matplotlib.pyplot as plt

df = pd.DataFrame(
    {'2021': [12.1, 8.4, 15.3, 6.7], '2022': [13.5, 9.1, 14.2, 7.9], '2023': [14.8, 10.6, 13.9, 9.2]},
    index=['Electronics', 'Clothing', 'Groceries', 'Toys'],
)

ax = df.plot.bar(rot=0, figsize=(8, 5), color=['#b3cde3', '#6497b1', '#005b96'],
                 edgecolor='black', width=0.8)
ax.set_ylabel('Revenue (million EUR)')
ax.set_title('Revenue by department and year')
ax.legend(title='Year')
for container in ax.containers:
    ax.bar_label(container, fmt='%.1f', fontsize=7, padding=2)
