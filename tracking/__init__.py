"""Reporting, kept out of the core: console progress, local files and plots, W&B.

Everything here observes training through :class:`nn.Callback` hooks.
"""
