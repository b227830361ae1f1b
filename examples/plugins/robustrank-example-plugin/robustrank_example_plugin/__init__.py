"""Example third-party robustrank plugins (an attack, a defence and a task)."""
