import numpy as np
import matplotlib.pyplot as plt

wavelength_nm = np.linspace(380, 750, 300)
intensity = (np.exp(-((wavelength_nm - 460) / 25) ** 2)
             + 0.7 * np.exp(-((wavelength_nm - 570) / 60) ** 2))


def nm_to_thz(nm):
    nm = np.asarray(nm, dtype=float)
    with np.errstate(divide='ignore'):
        return 299792.458 / nm


def thz_to_nm(thz):
    thz = np.asarray(thz, dtype=float)
    with np.errstate(divide='ignore'):
        return 299792.458 / thz


fig, ax = plt.subplots(figsize=(8, 5), layout='constrained')
ax.plot(wavelength_nm, intensity, color='darkviolet')
ax.set_xlabel('Wavelength (nm)')
ax.set_ylabel('Relative intensity')
ax.set_title('White LED spectrum')
secax = ax.secondary_xaxis('top', functions=(nm_to_thz, thz_to_nm))
secax.set_xlabel('Frequency (THz)')
plt.show()
