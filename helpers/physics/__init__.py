"""Physical systems and their exact results: the 2-D Ising model (``ising``), its Monte Carlo samplers
(``ising_mc``) and configuration data sets (``ising_data``), dynamical systems (``dynamics``),
Ising chains by the transfer matrix (``ising_chain``), differential equations and their classical
solvers (``pde``, ``black_scholes``) and physics-informed networks (``pinn``), lattice field theory
(``lattice_field``), and quantum spin chains (``spin_chains``) with variational Monte Carlo (``vmc``)
and neural wavefunctions (``nqs``).
Imports :mod:`helpers.core` and :mod:`helpers.data`."""
