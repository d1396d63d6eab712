import matplotlib.pyplot as plt

labels = ['Rent', 'Food', 'Transport', 'Leisure', 'Savings', 'Other']
amounts = [1200, 450, 180, 220, 500, 150]
explode = [0.06, 0, 0, 0, 0.06, 0]

plt.figure(figsize=(7, 7))
plt.pie(amounts, labels=labels, explode=explode, autopct='%1.1f%%',
        startangle=90, shadow=False, colors=plt.cm.Pastel1.colors,
        wedgeprops={'edgecolor': 'white'})
plt.title('Monthly budget breakdown')
plt.axis('equal')
plt.show()
