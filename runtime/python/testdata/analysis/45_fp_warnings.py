# Invalid arithmetic in numpy: the warnings a user sees (captured here), and np.errstate.
import warnings

import numpy as np
import pandas as pd

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    r = np.array([1.0, 0.0, -1.0])
    print(np.log(r))
    print(np.array([1.0, -1.0, 0.0]) / 0.0)
    print(np.sqrt(np.array([4.0, -4.0])))
    print(np.float64(1e308) * 10)
    print(np.exp(np.array([1000.0])))
    print(np.array([2**62]) * np.int64(4))
for w in caught:
    print(w.category.__name__ + ":", w.message)
with np.errstate(all="raise"):
    try:
        np.array([1.0]) / 0.0
    except FloatingPointError as e:
        print("FloatingPointError:", e)
print(np.geterr())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    s = pd.Series([1.0, 0.0]) / 0.0
    print(s.tolist(), len(caught))
