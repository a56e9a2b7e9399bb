"""Physical systems and their exact results: the 2-D Ising model (``ising``), its Monte Carlo samplers
(``ising_mc``) and configuration data sets (``ising_data``), and dynamical systems (``dynamics``).
Imports :mod:`helpers.core` and :mod:`helpers.data`."""
