"""Quire: private document question-answering, in pure Python so it runs in Pyodide and CPython."""
