"""Helpers shared by the dashcam families (novatek, ligogps, seventymai, sstar, ...).

A family imports the core, containers, encodings and this package, never
another family: what two families share lives here.
"""
