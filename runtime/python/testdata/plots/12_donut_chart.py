import matplotlib.pyplot as plt

browsers = ['Chrome', 'Safari', 'Edge', 'Firefox', 'Other']
share = [64.7, 18.6, 5.2, 3.1, 8.4]
colors = ['#4285F4', '#A2AAAD', '#0078D7', '#FF7139', '#BDBDBD']

fig, ax = plt.subplots(figsize=(6, 6))
wedges, texts, autotexts = ax.pie(
    share, labels=browsers, colors=colors, autopct='%.1f%%', pctdistance=0.8,
    startangle=140, wedgeprops=dict(width=0.4, edgecolor='white'))
for t in autotexts:
    t.set_fontsize(9)
    t.set_color('white')
ax.text(0, 0, 'Browser\nshare', ha='center', va='center', fontsize=14, weight='bold')
ax.set_title('Donut chart')
ax.set_aspect('equal')
