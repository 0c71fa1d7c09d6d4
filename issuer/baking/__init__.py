"""Baked badges: a credential carried inside its PNG or SVG image (OB 3.0 §Baking).

Baking replaces any credential already in the image: there is never more than one.
"""
