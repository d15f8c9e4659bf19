"""slawatch: proves, minute by minute, whether a carrier kept its ExpressRoute SLA."""

__version__ = "0.1.0"
