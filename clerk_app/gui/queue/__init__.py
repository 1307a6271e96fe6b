"""Queue faces: the kiosk, the hall display (with its voice) and the clerk's queue panel."""
