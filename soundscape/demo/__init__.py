"""`soundscape demo`: a scripted call through a real LiveKit server, heard by a caller.

`script` is the call (who says what, the voices, the result); `live` plays it through a server,
`offline` renders it without one. `caller`, `livekit_local` and `espeak` are the parts they
use: a recording participant, a local livekit-server, and the espeak-ng voice.
"""
