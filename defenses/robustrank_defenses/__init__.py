"""Built-in robustrank defences, registered through the ``robustrank.defenses`` entry points.

Written only against robustrank's public plugin API, exactly like a third-party plugin.
"""
