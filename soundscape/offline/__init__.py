"""Scenes rendered without a room: a scripted timeline in, samples and a summary out."""
