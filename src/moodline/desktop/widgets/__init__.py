"""Small widgets, one job each; each widget's own settings live beside it."""
