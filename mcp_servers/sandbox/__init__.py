"""The code sandbox server: Python, shell, Go and GnuCOBOL under bubblewrap."""
