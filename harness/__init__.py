"""Release-compatibility harness for PyTorch and its domain libraries."""
