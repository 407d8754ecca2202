"""Identity documents: one module per document type behind one contract (see ``registry``)."""
