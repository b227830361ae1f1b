"""Built-in robustrank attacks, registered through the ``robustrank.attacks`` entry points.

Written only against robustrank's public plugin API, exactly like a third-party plugin.
"""
