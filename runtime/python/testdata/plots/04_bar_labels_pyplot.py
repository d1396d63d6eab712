import matplotlib.pyplot as plt

languages = ['Python', 'JavaScript', 'Java', 'C#', 'Go', 'Rust']
users = [48.2, 62.3, 30.5, 27.1, 13.2, 12.6]
colors = ['#3572A5', '#f1e05a', '#b07219', '#178600', '#00ADD8', '#dea584']

plt.figure(figsize=(8, 5))
bars = plt.bar(languages, users, color=colors, edgecolor='black', linewidth=0.6)
plt.bar_label(bars, fmt='%.1f%%', padding=3)
plt.ylabel('Share of respondents (%)')
plt.title('Language usage in a fictional survey')
plt.ylim(0, 70)
plt.tight_layout()
