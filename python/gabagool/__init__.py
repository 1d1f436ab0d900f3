"""gabagool: pair accumulation on Polymarket's 15-minute crypto Up or Down markets."""

__version__ = "0.1.0"
