"""The live Polymarket venue: Gamma discovery, public CLOB REST, the market channel socket and
the reference-price feeds."""
