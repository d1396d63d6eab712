# Sampling rows and shuffling: choice with and without replacement, weighted choice, permutations.
import numpy as np
import pandas as pd

rng = np.random.default_rng(123)
df = pd.read_csv("sales.csv")
print(rng.choice(df["order_id"].to_numpy(), size=5, replace=False))
print(rng.choice(["A", "B", "C"], size=10, p=[0.5, 0.3, 0.2]))
print(rng.permutation(10))
a = np.arange(12).reshape(3, 4)
rng.shuffle(a)
print(a)
print(rng.permuted(np.arange(8)))
print(df.sample(n=5, random_state=np.random.default_rng(5))[["order_id", "product"]])
print(df.sample(frac=0.02, random_state=7)["order_id"].tolist())
train = df.sample(frac=0.8, random_state=1)
print(len(train), len(df.drop(train.index)), sorted(train.index[:5].tolist()))
boot = [df["units"].sample(frac=1, replace=True, random_state=i).mean() for i in range(5)]
print(np.round(boot, 4))
