"""The live Polymarket venue: discovery, the exchange's sockets and the reference-price feeds."""
