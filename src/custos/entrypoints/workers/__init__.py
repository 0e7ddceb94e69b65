"""Loops that run inside a Custos server beside the API: the housekeeper's timed duties."""
