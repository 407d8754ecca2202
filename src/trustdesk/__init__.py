"""trustdesk: the trust-and-safety and compliance desk a provider runs beside its product."""

__version__ = "0.1.0"
