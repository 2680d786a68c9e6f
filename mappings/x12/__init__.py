"""X12 maps: transaction sets <-> the canonical model, one module per set, shared pieces in ``common``.

``registry`` says which module reads and writes each transaction set.
"""
