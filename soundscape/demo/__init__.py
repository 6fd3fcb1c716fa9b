"""`soundscape demo`: a scripted call through a real LiveKit server, heard by a caller."""
