"""The compliance register: the provider's services, filings, infrastructure and obligations."""
