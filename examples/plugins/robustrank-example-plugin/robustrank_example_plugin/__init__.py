"""Example third-party robustrank plugins (an attack and a defence)."""
