"""Measuring results: principal component analysis (``pca``), distances between samples and
distributions (``distances``), and the digit classifier and scores that judge generated images
(``metrics``).  Imports :mod:`helpers.core`, :mod:`helpers.networks` and :mod:`helpers.data`."""
