"""`make fuzz`: schemathesis against both apps (see run.py)."""
