"""Detection of dead, slow and excess stock: seasonality, excess and its probabilistic version
(SPEC §3.3)."""
